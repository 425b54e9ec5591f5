"""Issue 14, done when: changing one accepted code value or one indicator takes one edit.

The project is copied to a temporary directory and only a seed is edited there: one row added to
seeds/code_values.csv (a new admission method code) and one row removed from seeds/indicator_definitions.csv.
Then, in the copy, with nothing else changed:
  * gate 1's invalid_code rule accepts the new code (and still rejects a code outside the seed);
  * the generator may draw and write the new code (the original project refuses to);
  * the dbt accepted_code_values test on stg_sus_apc_spells passes a row holding the new code (and still warns on
    a code outside the seed);
  * the indicator's union branch, its person-level columns and its numerator-implies-denominator condition are
    gone from the compiled SQL, while every other indicator is still there.
Two small dbt invocations on the copy (seed + one staging view, then a compile of three models), not a build.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from contracts.extracts import SQL_TYPES, load_contract
from tests.helpers.dbt_build import copy_project, dbt_executable

REPO = Path(__file__).resolve().parents[2]
NEW_CODE = "2E"  # not an NHS Data Dictionary admission method: a stand-in for the next one
REMOVED_INDICATOR = "cyp_mental_health_contact"


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's packages, seeds and dbt project in a temporary directory, with the two seed edits."""
    root = copy_project(
        tmp_path_factory.mktemp("one_edit") / "project",
        ("contracts", "expectations", "synthetic", "seeds", "dbt_project"),
    )
    with open(root / "seeds" / "code_values.csv", "a", newline="") as f:
        csv.writer(f, lineterminator="\n").writerow(
            ["sus_apc_spells", "admission_method", NEW_CODE, "Emergency admission: a new code", "test edit"]
        )
    definitions = root / "seeds" / "indicator_definitions.csv"
    lines = definitions.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(REMOVED_INDICATOR + ",")]
    assert len(kept) == len(lines) - 1
    definitions.write_text("".join(kept))
    return root


def run_python(project: Path, code: str) -> dict:
    """Run code in a fresh interpreter importing the project at `project`; returns the JSON it prints."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


PROBE = f"""
    import json
    import duckdb
    import numpy as np
    import polars as pl
    from contracts.extracts import load_contract
    from expectations.rules import row_rules
    from synthetic.core.accepted import check_frame, draw_codes

    feed = load_contract()["sus_apc_spells"]
    rule = next(r for r in row_rules(feed, "2026-11-25") if r.rule_id == "invalid_code" and r.column == "admission_method")
    con = duckdb.connect()
    breaks = {{
        code: con.execute(f"select {{rule.predicate}} from (select ? as admission_method)", [code]).fetchone()[0]
        for code in ("{NEW_CODE}", "21", "2Z")
    }}
    try:
        drawn = draw_codes("sus_apc_spells", "admission_method", {{"{NEW_CODE}": 1.0}}, np.array([0.5])).tolist()
        check_frame("sus_apc_spells", pl.DataFrame({{"admission_method": ["21", "{NEW_CODE}"]}}))
        generator = drawn
    except ValueError as e:
        generator = str(e)
    print(json.dumps({{"in_set": list(rule.gx_form[1]), "breaks": breaks, "generator": generator}}))
"""


def test_gate_and_generator_follow_the_seed(copy: Path):
    edited = run_python(copy, PROBE)
    assert NEW_CODE in edited["in_set"]
    assert edited["breaks"] == {NEW_CODE: False, "21": False, "2Z": True}
    assert edited["generator"] == [NEW_CODE]
    # the same probe on the project as it is: the code is refused by the gate and by the generator
    original = run_python(REPO, PROBE)
    assert NEW_CODE not in original["in_set"]
    assert original["breaks"] == {NEW_CODE: True, "21": False, "2Z": True}
    assert isinstance(original["generator"], str) and "does not accept" in original["generator"]


def run_dbt(copy: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    project = copy / "dbt_project"
    env = {**os.environ, "PHM_BUILD_DB": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    cmd = [dbt_executable(), *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    return subprocess.run(cmd, env=env, cwd=project, capture_output=True, text=True, timeout=400)


@pytest.fixture(scope="module")
def dbt_copy(copy: Path) -> tuple[Path, dict]:
    """Seeds and stg_sus_apc_spells built in the copy over two raw spells (one holding the new code, one a code
    outside the seed), then three indicator models compiled; returns (compiled folder, run results by test)."""
    db = copy / "build.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    for feed in ("sus_apc_spells",):
        cols = ", ".join(f"{c.name} {SQL_TYPES[c.type]}" for c in load_contract()[feed].columns)
        con.execute(f"create table raw.{feed} ({cols})")
    con.execute("create table raw.person_key (nhs_number varchar, person_id varchar)")
    con.execute(
        "insert into raw.sus_apc_spells (spell_id, provider_code, admission_date, admission_method, "
        "primary_diagnosis_icd10, discharge_destination) values "
        f"('S1', 'RGT', date '2026-01-01', '{NEW_CODE}', 'I214', '19'), "
        "('S2', 'RGT', date '2026-01-01', '21', 'I214', '99')"
    )
    con.close()
    built = run_dbt(
        copy,
        db,
        "build",
        "--select",
        "code_values indicator_definitions stg_sus_apc_spells",
        "--indirect-selection",
        "cautious",
        "--exclude-resource-type",
        "unit_test",
    )
    results = json.loads((copy / "dbt_project" / "target" / "run_results.json").read_text())
    by_test = {r["unique_id"]: r["status"] for r in results["results"] if r["unique_id"].startswith("test.")}
    assert by_test, built.stdout[-4000:]
    compiled = run_dbt(
        copy,
        db,
        "compile",
        "--select",
        "int_indicators__person_long int_indicators__person_flags core20plus5_person",
    )
    assert compiled.returncode == 0, compiled.stdout[-4000:]
    return copy / "dbt_project" / "target" / "compiled" / "phm" / "models", by_test


def test_dbt_accepted_code_values_test_follows_the_seed(dbt_copy: tuple[Path, dict]):
    _, by_test = dbt_copy
    statuses = {
        column: status
        for test, status in by_test.items()
        for column in ("admission_method", "discharge_destination")
        if "accepted_code_values_stg_sus_apc_spells" in test and column in test
    }
    assert statuses == {"admission_method": "pass", "discharge_destination": "warn"}, by_test


def test_indicator_lists_follow_the_seed(dbt_copy: tuple[Path, dict]):
    models, _ = dbt_copy
    with open(REPO / "seeds" / "indicator_definitions.csv", newline="") as f:
        kept = [r["indicator_id"] for r in csv.DictReader(f) if r["indicator_id"] != REMOVED_INDICATOR]
    long_sql = (models / "intermediate" / "indicators" / "int_indicators__person_long.sql").read_text()
    person_sql = (models / "marts" / "core20plus5_person.sql").read_text()
    flags_sql = (models / "intermediate" / "indicators" / "int_indicators__person_flags.sql").read_text()
    assert long_sql.count("union all") == len(kept) - 1
    for indicator_id in kept:
        assert f"'{indicator_id}'" in long_sql
        assert f"flags.{indicator_id}_numerator" in person_sql
        assert f"as {indicator_id}_numerator" in flags_sql
    assert REMOVED_INDICATOR not in long_sql and REMOVED_INDICATOR not in person_sql
    # its rule still sits in the flags' CTEs (per-indicator logic), but it is no longer an output column
    assert f"as {REMOVED_INDICATOR}_numerator," not in flags_sql.split("from denominators")[-1]
    tests = models / "intermediate" / "indicators" / "_int_indicators__models.yml"
    implies = next(tests.glob("int_indicators__person_flags_numerator_implies_denominator*.sql")).read_text()
    assert all(f"{i}_denominator" in implies for i in kept) and REMOVED_INDICATOR not in implies
