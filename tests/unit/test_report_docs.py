"""The DQ report's data docs open offline: every CDN asset the installed GX's templates link has a local copy, the
pages are pointed at the copies, and what has none is dropped and named on the page, never left silently."""

from __future__ import annotations

import re
from pathlib import Path

import great_expectations

from phm.report_docs import CDN_COPIES, GX_COPIES, LOGO_URL, VENDOR, localise_page, warehouse_folder

TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"


def test_every_cdn_asset_of_gx_templates_has_a_local_copy():
    linked = {
        url
        for template in TEMPLATES.glob("*.j2")
        for url in re.findall(
            r"""<(?:script|link)\b[^>]*?(?:src|href)=["'](https?://[^"']+)["']""", template.read_text()
        )
    }
    assert linked, "GX's templates name no CDN asset any more: look again at how they load their styles"
    assert linked <= set(CDN_COPIES), sorted(linked - set(CDN_COPIES))
    for copy in CDN_COPIES.values():
        assert (GX_COPIES / copy).is_file() or (VENDOR / copy).is_file(), copy
    navbar = (TEMPLATES / "top_navbar.j2").read_text()  # the logo: GX's own copy in its site's static/images
    assert LOGO_URL.rsplit("/", 1)[0] + "/" in navbar and "logo-long.png" in navbar


def test_a_page_is_pointed_at_the_copies_and_names_what_it_leaves_out():
    page = (
        "<html><head>"
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" '
        'integrity="sha384-x" crossorigin="anonymous"></script>'
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
        '<link rel="shortcut icon" href="../../../static/images/favicon.ico"/>'
        '<script src="https://example.org/tracker.js"></script>'
        "<style>.brand { background: url('https://example.org/dark.png') 0 0 no-repeat; }</style>"
        '</head><body><img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1">'
        '<a href="https://greatexpectations.io">GX</a></body></html>'
    )
    text, dropped = localise_page(page, "../../../../")
    assert '<script src="../../../../static/vendor/jquery-3.7.1.min.js"></script>' in text
    assert '<script src="../../../../static/vendor/bootstrap-4.3.1.min.js"></script>' in text  # no integrity, no CORS
    assert 'href="../../../../static/vendor/bootstrap-4.3.1.min.css"' in text
    assert 'href="../../../../static/images/favicon.ico"' in text  # GX's one-folder-short link, from the root
    assert 'src="../../../../static/images/logo-long.png"' in text
    assert dropped == ["https://example.org/tracker.js", "https://example.org/dark.png"]
    assert "tracker.js" not in text.split("</head>")[0] and "background: none 0 0" in text
    warning, note = text.split('data-testid="offline-missing"')[1:]
    assert "tracker.js" in warning and "may not work" in warning and "dark.png" in note
    assert '<a href="https://greatexpectations.io">' in text  # a link to follow is not something the page loads


def test_a_build_file_finds_the_validations_kept_beside_its_warehouse():
    warehouse = Path("/data/warehouse")
    assert warehouse_folder(warehouse / "phm.duckdb") == warehouse
    assert warehouse_folder(warehouse / ".build" / "run-1.duckdb") == warehouse
    assert warehouse_folder(warehouse / ".build" / "run-1" / "build.duckdb") == warehouse
