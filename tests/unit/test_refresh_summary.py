"""The refresh summary names what failed: a dbt error keeps its node and the database's message (not the caret
line dbt ends with), any other error its last line."""

from __future__ import annotations

from phm.refresh import error_summary

DBT_SEED_FAILURE = """Error running dbt command: 1 error
Failure in seed text_limits (../seeds/text_limits.csv)
  Runtime Error in seed text_limits (../seeds/text_limits.csv)
  Parser Error: syntax error at or near "column"

  LINE 3: ..."reference"."text_limits" (feed text,column text,max_characters integer,source text)
                                                  ^^^^^^
"""


def test_a_dbt_failure_names_the_node_and_the_database_error():
    assert error_summary(DBT_SEED_FAILURE) == (
        'Runtime Error in seed text_limits (../seeds/text_limits.csv) Parser Error: syntax error at or near "column"'
    )


def test_any_other_error_keeps_its_last_line():
    assert error_summary("Traceback (most recent call last):\n  File x\nValueError: PHM_DBT_THREADS must be") == (
        "ValueError: PHM_DBT_THREADS must be"
    )
    assert error_summary("   \n") == "failed"
