"""Accepted code values live in one place, seeds/code_values.csv: these tests keep it, the contract's prose, the
shared contract, the activity code sets and the dbt staging tests from drifting apart. No dbt needed."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from contracts.code_values import CODE_VALUES_PATH, load_code_values
from contracts.extracts import CONTRACT_PATH, load_contract
from expectations.rules import row_rules

REPO = Path(__file__).resolve().parents[2]
SHARED_CONTRACT = REPO.parent / "shared" / "contracts" / "extracts.yaml"
SEEDS = REPO / "seeds"
STAGING_YAML = REPO / "dbt_project" / "models" / "staging" / "_staging__models.yml"


def _expand(first: str, last: str) -> list[str]:
    """The codes of a range as the contract writes it: 21-28, 48-53, A-H, 2A-2D, P1 .. P4."""
    if first.isdigit() and last.isdigit():
        return [str(i).zfill(len(first)) for i in range(int(first), int(last) + 1)]
    if len(first) == len(last) and first[:-1] == last[:-1] and first[-1] <= last[-1]:
        return [first[:-1] + chr(c) for c in range(ord(first[-1]), ord(last[-1]) + 1)]
    return [first, last]


def codes_named_by(prose: str) -> set[str]:
    """Every token of a column's `codes:` prose, with ranges ("21-28", "2A-2D", "A-H", "P1 .. P4",
    "1 immediate .. 5 non-urgent") expanded and "65/85" split."""
    named = set(re.findall(r"[A-Za-z0-9]+", prose))
    for first, last in re.findall(r"\b([A-Z0-9]{1,3})-([A-Z0-9]{1,3})\b", prose):
        named.update(_expand(first, last))
    for first, last in re.findall(r"\b([A-Z]?[0-9]|[A-Z])\b(?:\s+[a-z][\w-]*)*\s*\.\.\s*([A-Z]?[0-9]|[A-Z])\b", prose):
        named.update(_expand(first, last))
    return named


def is_named(code: str, prose: str) -> bool:
    if " " in code or "'" in code or (code.isalpha() and len(code) > 2):
        # a free-text category: one whole item of the prose's list, word for word
        return re.search(rf"(?:^|[,;:]\s*){re.escape(code)}\s*(?:[,;(]|$)", prose) is not None
    return code in codes_named_by(prose)


@pytest.mark.skipif(not SHARED_CONTRACT.exists(), reason="shared/contracts/extracts.yaml is not beside this checkout")
def test_contract_is_the_shared_contract():
    # The project's contract is a verbatim copy: a change is made in ../shared and copied here.
    assert CONTRACT_PATH.read_text() == SHARED_CONTRACT.read_text(), (
        f"contracts/extracts.yaml differs from {SHARED_CONTRACT}: copy the shared contract over it"
    )


def test_the_prose_parser_expands_ranges_and_rejects_codes_not_named():
    admission = load_contract()["sus_apc_spells"].column("admission_method").codes
    assert {"11", "12", "13", "24", "28", "2A", "2C", "2D", "31", "83"} <= codes_named_by(admission)
    assert not is_named("2E", admission) and not is_named("29", admission) and not is_named("84", admission)
    destination = load_contract()["sus_apc_spells"].column("discharge_destination").codes
    assert {"37", "38", "48", "50", "53", "98"} <= codes_named_by(destination)
    assert not is_named("99", destination) and not is_named("47", destination)
    assert is_named("P3", "P1 .. P4 clinical priority") and not is_named("P5", "P1 .. P4 clinical priority")
    assert is_named("4", "1 immediate .. 5 non-urgent") and not is_named("6", "1 immediate .. 5 non-urgent")
    assert is_named("J", "NHS ethnic category A-H, J-N, P") and not is_named("I", "NHS ethnic category A-H, J-N, P")
    assert is_named("heart failure", "respiratory, heart failure, epilepsy")
    assert not is_named("heart", "respiratory, heart failure, epilepsy")


def test_every_seed_code_is_named_by_the_contract_prose():
    contract = load_contract()
    missing = [
        f"{feed}.{column} {code!r}"
        for (feed, column), codes in load_code_values().items()
        for code in codes
        if not is_named(code, contract[feed].column(column).codes or "")
    ]
    assert missing == [], f"seeds/code_values.csv codes the contract's `codes:` prose does not name: {missing}"


def test_the_data_dictionary_widening_is_in_the_seed():
    values = load_code_values()
    assert {"2A", "2B", "2C", "2D"} <= set(values[("sus_apc_spells", "admission_method")])
    widened = {"30", "37", "38", "48", "49", "50", "51", "52", "53", "66", "84", "87", "88", "98"}
    assert widened <= set(values[("sus_apc_spells", "discharge_destination")])


def test_seed_rows_have_a_meaning_and_a_source():
    with open(CODE_VALUES_PATH, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["meaning"].strip() and r["source"].strip() for r in rows)
    dictionary = [r for r in rows if r["feed"] == "sus_apc_spells"]
    assert all(r["source"].startswith("NHS Data Dictionary") for r in dictionary)


def test_gate_rules_accept_exactly_the_seed_codes():
    contract = load_contract()
    for (feed, column), codes in load_code_values().items():
        rules = [
            r for r in row_rules(contract[feed], "2026-11-25") if r.rule_id == "invalid_code" and r.column == column
        ]
        assert len(rules) == 1, (feed, column)
        kind, values = rules[0].gx_form
        assert kind == "in_set" and [str(v) for v in values] == list(codes), (feed, column)


def test_code_sets_are_values_the_contract_accepts():
    values = load_code_values()
    with open(SEEDS / "code_sets.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    linked = [r for r in rows if r["feed"]]
    assert linked, "no code set names the contract column its codes come from"
    for r in linked:
        for feed in r["feed"].split("|"):
            accepted = values[(feed, r["column_name"])]
            code = r["code"]
            if r["match_type"] == "exact":
                ok = code in accepted
            elif r["match_type"] == "exact_ci":
                ok = code.lower() in {a.lower() for a in accepted}
            else:
                ok = any(a.startswith(code) for a in accepted)
            assert ok, f"code_sets {r['code_set']} {code!r}: not an accepted value of {feed}.{r['column_name']}"


def test_emergency_admission_set_covers_every_emergency_code():
    # The contract: "21-28 and 2A-2D emergency"; admission_method_emergency must match all of them.
    with open(SEEDS / "code_sets.csv", newline="") as f:
        emergency = [r for r in csv.DictReader(f) if r["code_set"] == "admission_method_emergency"]

    def matches(code: str) -> bool:
        return any(code.startswith(r["code"]) if r["match_type"] == "prefix" else code == r["code"] for r in emergency)

    accepted = load_code_values()[("sus_apc_spells", "admission_method")]
    assert [c for c in accepted if c.startswith("2") and not matches(c)] == []
    assert [c for c in accepted if not c.startswith("2") and matches(c)] == []


def test_ethnicity_lookup_has_exactly_the_accepted_categories():
    with open(SEEDS / "ethnicity_groups.csv", newline="") as f:
        lookup = {r["ethnic_category"] for r in csv.DictReader(f)}
    assert lookup == set(load_code_values()[("gp_patients", "ethnic_category")])


def test_staging_tests_read_the_seed_not_literals():
    """Every coded column is tested in staging with accepted_code_values for its (feed, column); no staging test
    lists code values literally."""
    doc = yaml.safe_load(STAGING_YAML.read_text())
    tested: set[tuple[str, str]] = set()
    for model in doc["models"]:
        for column in model.get("columns", []):
            for test in column.get("data_tests", []):
                if isinstance(test, dict) and "accepted_values" in test:
                    values = test["accepted_values"]["arguments"]["values"]
                    assert values == [True], f"{model['name']}.{column['name']}: literal accepted_values {values}"
                if isinstance(test, dict) and "accepted_code_values" in test:
                    args = test["accepted_code_values"]["arguments"]
                    assert model["name"] == f"stg_{args['feed']}", (model["name"], args)
                    tested.add((args["feed"], args.get("column", column["name"])))
    # ethnic_category is tested against the ethnicity_groups lookup (equal to the seed's list, above)
    expected = set(load_code_values()) - {("gp_patients", "ethnic_category")}
    assert expected - tested == set(), f"coded columns without an accepted_code_values test: {expected - tested}"
    assert tested <= set(load_code_values())


def test_generator_code_tables_are_accepted_and_a_stray_code_stops_it():
    import polars as pl

    from synthetic.core.accepted import check_frame, draw_codes, require_accepted
    from synthetic.core.parameters import param
    from synthetic.feeds import community, hospital
    from synthetic.model.conditions import STAGES
    from synthetic.model.population import ETHNIC_CATEGORIES, SEX_CODES

    require_accepted("gp_patients", "sex", SEX_CODES)
    require_accepted("gp_patients", "ethnic_category", ETHNIC_CATEGORIES)
    require_accepted("cancer_registrations", "stage", STAGES)
    require_accepted("asc_services", "service_type", community.SERVICE_TYPES)
    require_accepted("asc_services", "primary_support_reason", community.REASONS)
    require_accepted("csds_contacts", "team_type", community.CSDS_TEAMS)
    require_accepted("mhsds_contacts", "service_type", community.MHSDS_SERVICES)
    require_accepted("sus_apc_spells", "admission_method", hospital.EMERGENCY_METHOD_SHARES)
    require_accepted("sus_apc_spells", "discharge_destination", param("activity.discharge.care_home_code_shares"))
    with pytest.raises(ValueError, match="does not accept"):
        check_frame(
            "sus_apc_spells", pl.DataFrame({"admission_method": ["21", "99"], "discharge_destination": [None, "19"]})
        )
    with pytest.raises(ValueError, match="does not accept"):
        draw_codes("sus_apc_spells", "discharge_destination", {"19": 0.9, "99": 0.1}, np.array([0.5]))
    check_frame(
        "sus_apc_spells", pl.DataFrame({"admission_method": ["2A", "81"], "discharge_destination": [None, "98"]})
    )
