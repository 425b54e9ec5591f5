"""Staging tests tagged gate1_guaranteed are left out of the nightly build: each must state a gate-1 rule that
quarantines its breaking rows, on the same feed column, or a defect could reach the marts untested."""

from __future__ import annotations

import re

import pytest

from assets.dbt_results import GATE1_GUARANTEED_SELECTOR, declared_tests, load_manifest
from assets.paths import DBT_PROJECT_DIR
from contracts.code_values import load_code_values
from contracts.extracts import Feed, load_contract
from expectations.rules import row_rules

TAG = GATE1_GUARANTEED_SELECTOR.removeprefix("tag:")


def _staging_columns(model: str) -> dict[str, str]:
    """Staging column -> feed column, from the view's casts (`cast(source.<feed column> as <type>) as <name>`)."""
    sql = (DBT_PROJECT_DIR / "models" / "staging" / f"{model}.sql").read_text()
    return {name: column for column, name in re.findall(r"cast\(source\.(\w+) as .*?\) as (\w+)", sql)}


def gate1_rule_for(node: dict, feed: Feed) -> str | None:
    """The quarantining gate-1 rule (rule_id:column) that makes this staging test unable to fail, or None."""
    columns = _staging_columns(node["attached_node"].split(".")[-1])
    metadata = node.get("test_metadata") or {}
    kind, arguments = metadata.get("name"), metadata.get("kwargs", {})
    column = columns.get(node.get("column_name") or "")
    quarantining = {(r.rule_id, r.column) for r in row_rules(feed, "2026-10-31") if r.quarantines}
    candidates: dict[str | None, tuple[str, str | None]] = {
        "not_null": ("not_null", column),
        "unique": ("duplicate_key", column) if feed.key == (column,) else ("", None),
        "accepted_code_values": (
            ("invalid_code", column)
            # gate 1's invalid_code is the same list only where the seed lists the column (else it is a format)
            if arguments.get("feed") == feed.name
            and (arguments.get("column") or node.get("column_name")) == column
            and (feed.name, column) in load_code_values()
            else ("", None)
        ),
        "relationships": (
            ("unknown_practice", column)
            if column == "practice_code" and "practice_map" in str(arguments.get("to"))
            else ("", None)
        ),
    }
    if kind == "unique_combination_of_columns":
        key = tuple(columns.get(c) for c in arguments.get("combination_of_columns", []))
        wanted = ("duplicate_key", ",".join(feed.key)) if feed.key and sorted(key) == sorted(feed.key) else ("", None)
    else:
        wanted = candidates.get(kind, ("", None))
    return f"{wanted[0]}:{wanted[1]}" if wanted in quarantining else None


def _staging_tests(manifest: dict) -> list[dict]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and ".stg_" in (node.get("attached_node") or "")
    ]


def test_each_tagged_test_states_a_quarantining_gate1_rule():
    manifest, feeds = load_manifest(), load_contract()
    tagged = [node for node in _staging_tests(manifest) if TAG in node["tags"]]
    assert len(tagged) >= 50  # most of the staging layer; a YAML edit that drops the tags shows here
    unguaranteed = [
        node["name"]
        for node in tagged
        if gate1_rule_for(node, feeds[node["attached_node"].split(".")[-1].removeprefix("stg_")]) is None
    ]
    assert not unguaranteed, f"tagged {TAG} but no quarantining gate-1 rule states them: {unguaranteed}"


def test_the_nightly_build_leaves_out_exactly_the_tagged_tests():
    manifest = load_manifest()
    nightly = {t.unique_id for t in declared_tests(manifest)}
    staging = _staging_tests(manifest)
    assert {n["unique_id"] for n in staging if TAG in n["tags"]}.isdisjoint(nightly)
    assert {n["unique_id"] for n in staging if TAG not in n["tags"]} <= nightly  # is_linked, ethnicity ... still run


@pytest.mark.parametrize(
    ("kind", "column", "arguments", "expected"),
    [
        ("not_null", "appointment_date", {}, "not_null:appointment_date"),
        ("not_null", "is_linked", {}, None),  # from the person key, not the feed
        ("unique", "appointment_id", {}, "duplicate_key:appointment_id"),
        ("unique", "provider_code", {}, None),  # not the feed's key
        ("accepted_code_values", "attendance_status_code", {"feed": "sus_op_appointments"}, None),  # column renamed
        (
            "accepted_code_values",
            "attendance_status_code",
            {"feed": "sus_op_appointments", "column": "attendance_status"},
            "invalid_code:attendance_status",
        ),
        ("accepted_code_values", "treatment_function_code", {"feed": "sus_op_appointments"}, None),  # a format rule
        ("expression_is_true", None, {}, None),
    ],
)
def test_what_counts_as_guaranteed(kind, column, arguments, expected):
    """The matcher itself: a near miss (another column, a renamed column, a rule that is not an accepted-code
    list) is not guaranteed."""
    node = {
        "attached_node": "model.phm.stg_sus_op_appointments",
        "column_name": column,
        "test_metadata": {"name": kind, "kwargs": arguments},
    }
    assert gate1_rule_for(node, load_contract()["sus_op_appointments"]) == expected
