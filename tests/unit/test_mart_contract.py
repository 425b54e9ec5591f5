"""The published contract (contracts/marts.yaml) against the dbt models, the meta schema and architecture.md."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from assets.mart_contract import differences, fingerprint, load_contract, mart_columns, meta_columns
from orchestration.dbt_project import dbt_project

ARCHITECTURE = Path(__file__).resolve().parents[2].parent / "shared" / "docs" / "architecture.md"


@pytest.fixture(scope="module")
def current():
    return {**mart_columns(dbt_project.manifest_path), **meta_columns()}


def test_models_and_meta_match_the_contract(current):
    assert differences(load_contract(), current) == []


def test_a_renamed_column_is_caught(current):
    renamed = copy.deepcopy(current)
    renamed["marts.target_lists"] = [("list" if c == "list_name" else c) for c in renamed["marts.target_lists"]]
    problems = differences(load_contract(), renamed)
    assert "marts.target_lists.list_name: in the contract but not in the model (removed or renamed?)" in problems
    assert "marts.target_lists.list: not in the contract" in problems


def test_a_changed_listing_needs_a_new_fingerprint():
    contract = load_contract()
    edited = copy.deepcopy(contract)
    edited["tables"]["marts.person"]["columns"].remove("lsoa_code")
    assert fingerprint(edited["tables"]) != contract["fingerprint"]
    assert any("fingerprint" in p for p in differences(edited, {t: s["columns"] for t, s in edited["tables"].items()}))


def test_every_level_is_known_and_the_identity_is_never_listed():
    tables = load_contract()["tables"]
    assert {spec["level"] for spec in tables.values()} <= {"aggregate", "patient"}
    assert not any(name.startswith("restricted.") for name in tables)
    assert tables["marts.core20plus5_indicators"]["level"] == "aggregate"
    assert tables["marts.target_lists"]["level"] == "patient"


@pytest.mark.skipif(not ARCHITECTURE.exists(), reason="shared/docs/architecture.md is not beside this checkout")
def test_architecture_key_columns_are_published(current):
    """Every built table of architecture.md's published-marts table has its key columns (roadmap tables may be absent)."""
    text = ARCHITECTURE.read_text()
    section = text.split("## Published marts", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|$", section, flags=re.M)
    assert rows, "could not read the published marts table of architecture.md"
    checked = 0
    for table, columns in rows:
        name = f"marts.{table}"
        if name not in current:
            continue
        keys = [c.strip() for c in columns.split(",")]
        # "one column per clinical-area denominator/numerator flag" is prose, not a column name
        keys = [k for k in keys if re.fullmatch(r"[a-z0-9_]+", k)]
        assert set(keys) <= set(current[name]), (name, sorted(set(keys) - set(current[name])))
        checked += 1
    assert checked >= 8
