"""One small published warehouse for every interface test (command line, web app, browser): the session's generated
refresh (tests/conftest.py, `generated_refresh`, shared with the end-to-end tests), so the interfaces are tested
against the marts exactly as a refresh publishes them.

While developing, set PHM_TEST_INTERFACES_WAREHOUSE to a warehouse made by the same commands to skip the build:
  phm generate --patients 5000 --seed 7 --extract-date 2026-10-31 --out L && phm refresh --landing L ..."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from phm.warehouse import open_reader
from tests.helpers.interfaces import PASSWORD


@pytest.fixture(scope="session")
def published_warehouse(request):
    given = os.environ.get("PHM_TEST_INTERFACES_WAREHOUSE")
    if given:
        return Path(given)
    return request.getfixturevalue("generated_refresh").warehouse


@pytest.fixture(scope="session")
def two_neighbourhoods(published_warehouse):
    """(ours, theirs): the neighbourhoods with the longest and second-longest Your Healthier Futures lists."""
    with open_reader(published_warehouse) as con:
        ranked = [
            r[0]
            for r in con.execute("""
            SELECT neighbourhood FROM marts.target_lists WHERE list_name = 'your_healthier_futures'
            GROUP BY neighbourhood ORDER BY count(*) DESC, neighbourhood LIMIT 2""").fetchall()
        ]
    assert len(ranked) == 2
    return ranked[0], ranked[1]


CHROMIUM = Path("/usr/bin/chromium")
# stack.md trap 12: no sandbox (root in CI), no GPU, and no lookups or connections beyond this machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright through its executable path (never `playwright install`)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def web_server(published_warehouse, two_neighbourhoods, tmp_path_factory):
    """`phm serve`'s app under uvicorn on a free loopback port, with one user bound to our neighbourhood."""
    from phm import users
    from phm.web.app import Settings
    from phm.web.background import serving_in_background

    root = tmp_path_factory.mktemp("web")
    users.add_user(root / "users.yaml", "lead.one", two_neighbourhoods[0], PASSWORD)
    settings = Settings(
        warehouse=published_warehouse,
        users_file=root / "users.yaml",
        audit_log=root / "audit" / "exports.jsonl",
        secret_key="test-secret",
    )
    with serving_in_background(settings) as url:
        yield {
            "url": url,
            "settings": settings,
            "ours": two_neighbourhoods[0],
            "theirs": two_neighbourhoods[1],
        }
