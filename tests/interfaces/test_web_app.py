"""`phm serve` through Starlette's test client: sign-in, the neighbourhood binding (no URL shows another
neighbourhood's patients), filters and CSV matching the mart, the audit log, suppressed indicator cells, and a
refresh publishing while the app serves."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil

import duckdb
import pytest
from starlette.testclient import TestClient

from phm import audit, lists, users
from phm.lists import slugify
from phm.warehouse import open_reader
from phm.web.app import Settings, create_app, script_json
from tests.helpers.interfaces import PASSWORD, expected_rows

pytestmark = pytest.mark.slow  # end to end: a refresh of a generated or hand-made drop (still in make test)

YHF = "your_healthier_futures"


@pytest.fixture
def site(published_warehouse, two_neighbourhoods, tmp_path):
    ours, theirs = two_neighbourhoods
    users.add_user(tmp_path / "users.yaml", "lead.one", ours, PASSWORD)
    settings = Settings(
        warehouse=published_warehouse,
        users_file=tmp_path / "users.yaml",
        audit_log=tmp_path / "exports.jsonl",
        secret_key="test-secret",
    )
    client = TestClient(create_app(settings))
    return client, settings, ours, theirs


def sign_in(client, password=PASSWORD):
    return client.post(
        "/login", data={"username": "lead.one", "password": password, "next": "/"}, follow_redirects=False
    )


def test_pages_need_sign_in_and_a_wrong_password_is_refused(site):
    client, _, ours, _ = site
    response = client.get(f"/n/{slugify(ours)}/lists/{YHF}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get(f"/n/{slugify(ours)}/lists/{YHF}/download.csv", follow_redirects=False).status_code == 303
    refused = sign_in(client, password="wrong password!")
    assert refused.status_code == 401 and "do not match" in refused.text
    assert "phm_session" not in client.cookies


def test_sign_in_lands_on_our_lists(site):
    client, _, ours, _ = site
    response = sign_in(client)
    assert response.status_code == 303
    home = client.get("/")
    assert home.url.path == f"/n/{slugify(ours)}" and ours in home.text and "Your Healthier Futures" in home.text


def test_another_neighbourhoods_pages_are_refused_whatever_the_url(site, published_warehouse):
    client, _, ours, theirs = site
    sign_in(client)
    their_people = [r["person_id"][:10] for r in expected_rows(published_warehouse, theirs, YHF, lists.ListFilters())]
    assert their_people
    for path in (
        f"/n/{slugify(theirs)}",
        f"/n/{slugify(theirs)}/lists/{YHF}",
        f"/n/{slugify(theirs)}/lists/{YHF}/download.csv?practice=",
        f"/n/{slugify(theirs)}/indicators",
        f"/n/{slugify(theirs).upper()}/lists/{YHF}",
        f"/n/{slugify(ours)}-x/lists/{YHF}",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert not any(person in response.text for person in their_people)
    # Filters cannot reach outside the neighbourhood either: a practice of theirs gives nobody.
    their_practice = expected_rows(published_warehouse, theirs, YHF, lists.ListFilters())[0]["practice_code"]
    response = client.get(f"/n/{slugify(ours)}/lists/{YHF}", params={"practice": their_practice})
    assert response.status_code == 200 and "Nobody on this list matches" in response.text


def test_filtered_page_and_csv_match_the_mart_and_the_download_is_audited(site, published_warehouse):
    client, settings, ours, _ = site
    sign_in(client)
    every_row = expected_rows(published_warehouse, ours, YHF, lists.ListFilters())
    practices = [r["practice_code"] for r in every_row]
    practice = max(set(practices), key=practices.count)
    filters = lists.ListFilters(practice=practice, core20=False)
    want = expected_rows(published_warehouse, ours, YHF, filters, identifiable=True)
    assert 0 < len(want) < len(every_row)
    params = {"practice": practice, "core20": "no", "sort": "priority"}
    page = client.get(f"/n/{slugify(ours)}/lists/{YHF}", params=params)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert re.search(rf"<strong>{len(want):,}</strong> (people match|person matches) the filters", page.text)
    for row in want[:3]:
        assert row["person_id"][:10] in page.text
    download = client.get(f"/n/{slugify(ours)}/lists/{YHF}/download.csv", params=params)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    got = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["nhs_number"] for r in got] == [r["nhs_number"] for r in want]
    assert {r["practice_code"] for r in got} == {practice} and {r["is_core20"] for r in got} <= {"False", ""}
    [entry] = audit.read_exports(settings.audit_log)
    assert entry["user"] == "lead.one" and entry["channel"] == "web" and entry["neighbourhood"] == ours
    assert entry["list_name"] == YHF and entry["rows"] == len(got) and entry["identifiable"] is True
    assert entry["filters"] == {"practice": practice, "core20": False}


def test_paging_sorting_and_hostile_filters(site, published_warehouse):
    client, _, ours, _ = site
    sign_in(client)
    every_row = expected_rows(published_warehouse, ours, YHF, lists.ListFilters())
    assert len(every_row) > 25, "the shared warehouse should give the biggest neighbourhood more than a page"
    second = client.get(f"/n/{slugify(ours)}/lists/{YHF}", params={"page": 2})
    assert every_row[25]["person_id"][:10] in second.text and every_row[0]["person_id"][:10] not in second.text
    for path in (f"/n/{slugify(ours)}/lists/no_such_list", f"/n/{slugify(ours)}/lists/no_such_list/download.csv"):
        assert client.get(path).status_code == 404
    hostile = client.get(
        f"/n/{slugify(ours)}/lists/{YHF}",
        params={"practice": "' OR 1=1 --", "sort": "person_id; DROP TABLE x", "page": "abc"},
    )
    assert hostile.status_code == 200 and "Nobody on this list matches" in hostile.text


def test_removing_a_user_ends_their_access(site):
    client, settings, ours, _ = site
    sign_in(client)
    assert client.get(f"/n/{slugify(ours)}").status_code == 200
    settings.users_file.write_text("users: {}\n")
    assert client.get(f"/n/{slugify(ours)}", follow_redirects=False).status_code == 303


def inline_rows(spec) -> list[dict]:
    """Every inline data row of a Vega-Lite spec, wherever Altair put it (top level, a layer, or datasets)."""
    if isinstance(spec, list):
        return [row for item in spec for row in inline_rows(item)]
    if not isinstance(spec, dict):
        return []
    rows = list(spec.get("data", {}).get("values", [])) if isinstance(spec.get("data"), dict) else []
    for named in spec.get("datasets", {}).values():
        rows += named
    return rows + inline_rows(spec.get("layer", []))


def test_indicator_page_shows_suppressed_cells_as_suppressed(site, published_warehouse):
    client, _, ours, _ = site
    sign_in(client)
    with open_reader(published_warehouse) as con:
        found = con.execute(
            """
            SELECT indicator_id, count(*) FILTER (WHERE suppressed) FROM marts.core20plus5_indicators
            WHERE geography_level = 'neighbourhood' AND geography_code = ?
              AND breakdown IN ('imd_quintile', 'ethnicity_group', 'core20')
            GROUP BY ALL HAVING count(*) FILTER (WHERE suppressed) > 0
               AND count(*) FILTER (WHERE NOT suppressed) > 0 ORDER BY 1 LIMIT 1""",
            [ours],
        ).fetchall()
    assert found, "a small neighbourhood should have suppressed and unsuppressed cells"
    indicator = found[0][0]
    with open_reader(published_warehouse) as con:
        # The table under the charts lists every breakdown (age band and sex too), each suppressed cell once.
        suppressed_cells = con.execute(
            """
            SELECT count(*) FROM marts.core20plus5_indicators
            WHERE geography_level = 'neighbourhood' AND geography_code = ? AND indicator_id = ? AND suppressed""",
            [ours, indicator],
        ).fetchall()[0][0]
    page = client.get(f"/n/{slugify(ours)}/indicators", params={"indicator": indicator})
    assert page.status_code == 200
    assert page.text.count("suppressed (small numbers)") == suppressed_cells
    assert "rounded parts need not add up to the total" in page.text
    specs = json.loads(re.search(r'id="chart-specs">(.*?)</script>', page.text, re.S).group(1))
    values = [row for spec in specs.values() for row in inline_rows(spec) if "breakdown_value" in row]
    hidden = [row for row in values if row["suppressed"]]
    assert hidden and all(row["value"] is None and row["label"] == "suppressed" for row in hidden)
    assert "/static/vendor/vega-embed" in page.text and "cdn" not in page.text.lower()


def test_keeps_answering_while_a_refresh_publishes(site, published_warehouse, tmp_path):
    """A refresh renames a new file over the warehouse; the next request reads it, even while an older reader is
    still open on the previous file (duckdb's per-path instance cache would otherwise serve the old one)."""
    _client, settings, _, _ = site
    warehouse = tmp_path / "phm.duckdb"
    shutil.copy(published_warehouse, warehouse)
    app = TestClient(
        create_app(
            Settings(warehouse=warehouse, users_file=settings.users_file, audit_log=settings.audit_log, secret_key="k")
        )
    )
    before = app.get("/health").json()["run_id"]
    old_reader = open_reader(warehouse)
    staged = tmp_path / "staged.duckdb"
    shutil.copy(published_warehouse, staged)
    with duckdb.connect(str(staged)) as con:
        con.execute("UPDATE meta.refresh_log SET run_id = 'next-run', published_at = now()")
    os.replace(staged, warehouse)
    try:
        assert app.get("/health").json()["run_id"] == "next-run" != before
        assert old_reader.execute("SELECT count(*) FROM meta.refresh_log WHERE run_id = ?", [before]).fetchall()[0][0]
    finally:
        old_reader.close()


def test_missing_warehouse_answers_503_naming_the_file(site, tmp_path):
    _client, settings, ours, _ = site
    app = TestClient(
        create_app(
            Settings(
                warehouse=tmp_path / "absent.duckdb",
                users_file=settings.users_file,
                audit_log=settings.audit_log,
                secret_key="k",
            )
        )
    )
    sign_in(app)
    response = app.get(f"/n/{slugify(ours)}")
    assert response.status_code == 503 and "absent.duckdb" in response.text and "phm refresh" in response.text


def test_chart_data_cannot_end_its_script_element():
    text = script_json({"group": "</script><script>alert(1)</script>"})
    assert "</" not in text and json.loads(text) == {"group": "</script><script>alert(1)</script>"}
