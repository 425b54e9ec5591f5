"""The risk validation's prior-year rebuild reuses this run's reference-date-free models instead of building them
again: the claim behind the tag must hold, or the prior-year score would read this year's tables."""

from __future__ import annotations

import json
from datetime import date

import pytest
from dagster_dbt.utils import select_unique_ids

from assets import dbt_results, risk_validation


@pytest.fixture(scope="module")
def manifest():
    from orchestration.dbt_project import prepare_if_stale

    prepare_if_stale()
    return dbt_results.load_manifest()


def _tagged(manifest: dict) -> dict[str, dict]:
    return {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and "reference_date_free" in node["config"]["tags"]
    }


def test_reference_date_free_models_read_only_seeds_and_each_other(manifest):
    tagged = _tagged(manifest)
    assert tagged, "no model is tagged reference_date_free"
    for uid, node in tagged.items():
        assert "reference_date" not in node["raw_code"], f"{uid} reads the reference date"
        assert "var(" not in node["raw_code"], f"{uid} reads a dbt var"
        for parent in node["depends_on"]["nodes"]:
            assert parent.startswith("seed.") or parent in tagged, f"{uid} depends on {parent}"


def test_the_prior_year_rebuild_leaves_them_out_though_the_risk_score_needs_them(manifest):
    args = risk_validation.prior_rebuild_args(risk_validation.prior_rebuild_vars(date(2026, 3, 31)))
    select = args[args.index("--select") + 1]
    exclude = args[args.index("--exclude") + 1]
    selected = select_unique_ids(select=select, exclude=exclude, selector="", project=None, manifest_json=manifest)
    upstream = select_unique_ids(select=select, exclude="", selector="", project=None, manifest_json=manifest)
    tagged = set(_tagged(manifest))
    assert tagged & upstream, "the risk score no longer needs a reference-date-free model: drop the exclusion"
    assert not tagged & selected
    assert "model.phm.person_risk" in selected
    assert json.loads(args[args.index("--vars") + 1])["model_schema_suffix"] == risk_validation.PRIOR_SCHEMA_SUFFIX
