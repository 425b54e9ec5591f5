"""The neighbourhood page in a real browser: Debian's chromium driven by Playwright (no browser download).

A lead signs in, opens Your Healthier Futures, filters it, downloads the CSV (whose rows must be the mart's rows for
the same filters, and which must be audited), views the Core20PLUS5 charts, and is refused another neighbourhood's
URL. Screenshots are kept in artifacts/ for people to look at."""

from __future__ import annotations

import csv

import pytest

from assets.paths import PROJECT_ROOT
from phm import audit, lists
from phm.lists import slugify
from tests.helpers.interfaces import PASSWORD, expected_rows

pytestmark = pytest.mark.slow  # end to end: a refreshed warehouse and a browser (still in make test)

ARTIFACTS = PROJECT_ROOT / "artifacts"
YHF = "your_healthier_futures"


def test_lead_signs_in_filters_downloads_and_cannot_see_another_neighbourhood(browser, web_server, published_warehouse):
    url, ours, theirs = web_server["url"], web_server["ours"], web_server["theirs"]
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    failed_requests = []
    # A download is a navigation the browser aborts on purpose (net::ERR_ABORTED); anything else failing is a bug.
    page.on(
        "requestfailed", lambda request: None if "/download.csv" in request.url else failed_requests.append(request.url)
    )

    page.goto(url + "/")
    assert page.url.startswith(url + "/login")
    page.get_by_label("Username").fill("lead.one")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/n/{slugify(ours)}")
    assert page.get_by_role("heading", level=1).inner_text() == f"{ours}: patient lists"
    page.screenshot(path=str(ARTIFACTS / "web_home.png"), full_page=True)

    page.get_by_role("link", name="Your Healthier Futures").click()
    page.wait_for_url(f"**/lists/{YHF}")
    every_row = expected_rows(published_warehouse, ours, YHF, lists.ListFilters())
    assert page.get_by_test_id("list-size").inner_text() == f"{len(every_row):,}"

    practices = [r["practice_code"] for r in every_row]
    practice = max(set(practices), key=practices.count)
    page.get_by_label("Practice").select_option(practice)
    page.get_by_label("Sort by").select_option("risk_score")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(f"**practice={practice}**")
    want = expected_rows(published_warehouse, ours, YHF, lists.ListFilters(practice=practice), identifiable=True)
    assert page.get_by_test_id("result-count").inner_text().startswith(f"{len(want):,} ")
    shown = page.locator("[data-testid=patients] tbody tr")
    assert shown.count() == min(len(want), 25)
    assert "NEW" in shown.first.inner_text()  # a first refresh: everyone is new
    page.get_by_text("How to read this list").click()
    assert page.get_by_text("Very high is the top 1%").is_visible()
    page.screenshot(path=str(ARTIFACTS / "web_list.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    download = download_info.value
    saved = ARTIFACTS / "web_download.csv"
    download.save_as(saved)
    got = list(csv.DictReader(saved.open(encoding="utf-8")))
    assert sorted(r["nhs_number"] for r in got) == sorted(r["nhs_number"] for r in want)
    assert {r["practice_code"] for r in got} == {practice}
    entry = audit.read_exports(web_server["settings"].audit_log)[-1]
    assert (entry["user"], entry["list_name"], entry["rows"]) == ("lead.one", YHF, len(got))
    assert entry["filters"] == {"practice": practice}

    page.get_by_role("link", name="Core20PLUS5 indicators").click()
    page.wait_for_selector("[data-testid=chart-imd_quintile][data-rendered=yes] svg")
    page.wait_for_selector("[data-testid=chart-core20][data-rendered=yes] svg")
    assert "rounded parts need not add up to the total" in page.get_by_test_id("caveat").inner_text()
    page.screenshot(path=str(ARTIFACTS / "web_indicators.png"), full_page=True)

    for path in (f"/n/{slugify(theirs)}/lists/{YHF}", f"/n/{slugify(theirs)}/lists/{YHF}/download.csv"):
        response = page.goto(url + path)
        assert response.status == 403, path
        assert "Not your neighbourhood" in page.content()
    page.screenshot(path=str(ARTIFACTS / "web_refused.png"))
    assert not failed_requests, f"requests that failed (a CDN or a missing file?): {failed_requests}"
    context.close()
