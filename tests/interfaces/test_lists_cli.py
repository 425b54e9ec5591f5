"""`phm lists` against a published warehouse: the rows match the mart for the same neighbourhood and filters, in
the list's order; csv and parquet carry the same rows; NHS numbers only on request, and then audited."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from phm import audit, lists
from phm.cli import app
from phm.lists import slugify
from phm.warehouse import open_reader
from tests.helpers.interfaces import expected_rows

pytestmark = pytest.mark.slow  # end to end: a refresh of a generated or hand-made drop (still in make test)

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(map(str, args)), catch_exceptions=False)


def test_missing_warehouse_says_which_file_and_how_to_make_one(tmp_path):
    result = run("lists", "--neighbourhood", "Anywhere", "--warehouse", tmp_path / "none.duckdb")
    assert result.exit_code == 2
    assert str(tmp_path / "none.duckdb") in result.output and "phm refresh" in result.output


def test_show_neighbourhoods_and_lists_with_movement(published_warehouse, two_neighbourhoods):
    ours, _ = two_neighbourhoods
    result = run("lists", "--show", "neighbourhoods", "--warehouse", published_warehouse)
    assert result.exit_code == 0 and ours in result.output.splitlines()
    result = runner.invoke(
        app,
        ["lists", "--show", "lists", "--neighbourhood", slugify(ours), "--warehouse", str(published_warehouse)],
        terminal_width=250,
    )
    assert result.exit_code == 0
    with open_reader(published_warehouse) as con:
        catalogue = lists.list_catalogue(con, ours)
    yhf = next(e for e in catalogue if e["list_name"] == "your_healthier_futures")
    line = next(line for line in result.output.splitlines() if "your_healthier_futures" in line)
    assert f"{yhf['list_size']:,}" in line and f"+{yhf['new_since_last']:,}" in line
    assert all(e["list_name"] in result.output for e in catalogue)


def test_table_shows_the_first_rows_in_priority_order(published_warehouse, two_neighbourhoods):
    ours, _ = two_neighbourhoods
    result = runner.invoke(
        app, ["lists", "-n", ours, "--limit", "3", "--warehouse", str(published_warehouse)], terminal_width=250
    )
    assert result.exit_code == 0
    rows = expected_rows(published_warehouse, ours, "your_healthier_futures", lists.ListFilters())
    shown = [r["person_id"][:10] for r in rows[:3]]
    positions = [result.output.index(person) for person in shown]
    assert positions == sorted(positions)
    assert rows[3]["person_id"][:10] not in result.output
    assert f"first 3 of {len(rows):,}" in result.output


def test_csv_filters_match_the_mart(published_warehouse, two_neighbourhoods):
    ours, _ = two_neighbourhoods
    every_row = expected_rows(published_warehouse, ours, "your_healthier_futures", lists.ListFilters())
    practices = [r["practice_code"] for r in every_row]
    practice = max(set(practices), key=practices.count)
    filters = lists.ListFilters(practice=practice, tier="Medium")
    result = run(
        "lists",
        "-n",
        ours,
        "--practice",
        practice,
        "--tier",
        "Medium",
        "--format",
        "csv",
        "--warehouse",
        published_warehouse,
    )
    assert result.exit_code == 0
    got = list(csv.DictReader(io.StringIO(result.output)))
    want = expected_rows(published_warehouse, ours, "your_healthier_futures", filters)
    assert [row["person_id"] for row in got] == [r["person_id"] for r in want]
    assert got and all(row["practice_code"] == practice and row["risk_tier"] == "Medium" for row in got)
    assert "nhs_number" not in got[0]
    assert 0 < len(got) < len(every_row)


def test_core20_and_age_band_filters_partition_the_list(published_warehouse, two_neighbourhoods, tmp_path):
    ours, _ = two_neighbourhoods
    counts = {}
    for flag in ("yes", "no"):
        out = tmp_path / f"core20_{flag}.parquet"
        assert (
            run(
                "lists",
                "-n",
                ours,
                "--core20",
                flag,
                "--format",
                "parquet",
                "--out",
                out,
                "--warehouse",
                published_warehouse,
            ).exit_code
            == 0
        )
        counts[flag] = pq.read_table(out).num_rows
    every_row = expected_rows(published_warehouse, ours, "your_healthier_futures", lists.ListFilters())
    assert counts["yes"] + counts["no"] == len(every_row)
    band = every_row[0]["age_band"]
    out = tmp_path / "band.parquet"
    assert (
        run(
            "lists",
            "-n",
            ours,
            "--age-band",
            band,
            "--format",
            "parquet",
            "--out",
            out,
            "--warehouse",
            published_warehouse,
        ).exit_code
        == 0
    )
    table = pq.read_table(out)
    assert set(table.column("age_band").to_pylist()) == {band}
    assert table.num_rows == sum(r["age_band"] == band for r in every_row)


def test_nhs_numbers_only_on_request_and_audited(published_warehouse, two_neighbourhoods, tmp_path, monkeypatch):
    ours, _ = two_neighbourhoods
    log = tmp_path / "exports.jsonl"
    monkeypatch.setenv("PHM_AUDIT_LOG", str(log))
    out = tmp_path / "list.csv"
    result = run(
        "lists",
        "-n",
        ours,
        "--new-only",
        "--with-nhs-number",
        "--format",
        "csv",
        "--out",
        out,
        "--warehouse",
        published_warehouse,
    )
    assert result.exit_code == 0
    got = list(csv.DictReader(out.open()))
    want = expected_rows(
        published_warehouse, ours, "your_healthier_futures", lists.ListFilters(new_only=True), identifiable=True
    )
    assert got and [row["nhs_number"] for row in got] == [r["nhs_number"] for r in want]
    assert all(len(row["nhs_number"]) == 10 for row in got)
    [entry] = audit.read_exports(log)
    assert entry["channel"] == "cli" and entry["list_name"] == "your_healthier_futures"
    assert entry["rows"] == len(got) and entry["filters"] == {"new_only": True} and entry["neighbourhood"] == ours
    refused = run("lists", "-n", ours, "--with-nhs-number", "--warehouse", published_warehouse)
    assert refused.exit_code != 0 and len(audit.read_exports(log)) == 1


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["--list", "no_such_list"], "no list called"),
        (["--tier", "Extreme"], "Very high"),
        (["--format", "xlsx"], "table, csv"),
        (["--sort", "surname"], "priority"),
    ],
)
def test_bad_options_are_named(published_warehouse, two_neighbourhoods, args, complaint):
    result = runner.invoke(
        app, ["lists", "-n", two_neighbourhoods[0], *args, "--warehouse", str(published_warehouse)], terminal_width=250
    )
    assert result.exit_code == 2 and complaint in result.output


def test_unknown_neighbourhood_is_named(published_warehouse):
    result = runner.invoke(
        app, ["lists", "-n", "Atlantis", "--warehouse", str(published_warehouse)], terminal_width=250
    )
    assert result.exit_code == 2 and "Atlantis" in result.output and "--show neighbourhoods" in result.output
