"""The documentation `phm dq-report` writes beside its index.html, both opening from disk with no network:

- gx-data-docs/: Great Expectations' data docs of the refresh's validations (gate 1, one suite per feed; gate 2, one
  per mart), built by GX's own site builder from the results the gates kept (expectations/data_docs.py). GX's pages
  link their styles and scripts from CDNs; each such link is pointed at a local copy (phm/web/static/vendor/
  gx-data-docs, with its provenance and licences), and anything else a page would load from the network is dropped
  and named in a warning at the top of that page, so a missing piece shows rather than passing unnoticed.
- dbt-docs/index.html: dbt's single-file static documentation of the models (`phm docs`, phm/docs.py).
"""

from __future__ import annotations

import html
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

VENDOR = Path(__file__).parent / "web" / "static" / "vendor"
GX_COPIES = VENDOR / "gx-data-docs"
GX_DIR = "gx-data-docs"
DBT_DIR = "dbt-docs"
# Every CDN asset of GX 1.24's data-docs templates -> its copy, relative to the data docs' root folder
# (tests/unit/test_report_docs.py fails if the installed GX links one that is not here).
_COPIES = "static/vendor/"
CDN_COPIES = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper-1.12.9.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table-1.19.1.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table-1.19.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table-filter-control-1.19.1.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table-filter-control-1.19.0.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table-filter-control-1.19.0.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker-1.9.0.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker-1.9.0.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-prefers-dark-1.1.0.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free-6.6.0/css/all.min.css",
    # floating majors in GX's templates: the vega builds the web app already vendors (phm/web/static/vendor)
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-6.4.0.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-6.4.3.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-7.3.0.min.js",
}
VEGA_COPIES = ("vega-6.4.0.min.js", "vega-lite-6.4.3.min.js", "vega-embed-7.3.0.min.js")
# GX's logo, which its site builder copies into static/images (GX links it from its own web server).
LOGO_URL = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png"
LOGO_COPY = "static/images/logo-long.png"

_ASSET_TAG = re.compile(r"<script\b[^>]*>\s*</script>|<(?:link|img)\b[^>]*>", re.I)
_URL_ATTR = re.compile(r"""\b(?:src|href)=["'](https?://[^"']*)["']""", re.I)
# a copy from disk: no hash check against the CDN file and no CORS request (a file:// page has no origin to send)
_CDN_ATTRS = re.compile(r"""\s+(?:integrity|crossorigin)=["'][^"']*["']""", re.I)
_CSS_URL = re.compile(r"""url\((["']?)(https?://[^"')]*)\1\)""", re.I)
# GX's own static files, which it links one folder short from a validation page (its favicon): from the root instead
_STATIC_ATTR = re.compile(r"""\b((?:src|href)=["'])(?:\.\.?/)*static/""", re.I)
_BODY = re.compile(r"<body\b[^>]*>", re.I)
_BODY_END = re.compile(r"</body>", re.I)


def localise_page(text: str, to_root: str) -> tuple[str, list[str]]:
    """One data-docs page with its CDN assets pointed at the local copies (`to_root`: the page's way back to the
    site's root folder, e.g. "../../"); what is left online is dropped, named on the page, and returned: a script or
    style sheet in a warning at the top (the page may not work without it), a picture from a style sheet (GX's
    dark-mode logo) in a line at the bottom."""
    dropped: list[str] = []
    decorative: list[str] = []

    def local(url: str) -> str | None:
        if url in CDN_COPIES:
            return to_root + _COPIES + CDN_COPIES[url]
        if url.split("?")[0] == LOGO_URL:
            return to_root + LOGO_COPY
        return None

    def tag(match: re.Match[str]) -> str:
        found = _URL_ATTR.search(match.group(0))
        if found is None:
            return _STATIC_ATTR.sub(lambda m: m.group(1) + to_root + "static/", match.group(0))
        copy = local(found.group(1))
        if copy is None:
            dropped.append(found.group(1))
            return ""
        start, end = found.span(1)
        return _CDN_ATTRS.sub("", match.group(0)[:start] + copy + match.group(0)[end:])

    def css_url(match: re.Match[str]) -> str:
        decorative.append(match.group(2))
        return "none"

    text = _CSS_URL.sub(css_url, _ASSET_TAG.sub(tag, text))
    if dropped:
        names = "".join(f"<li><code>{html.escape(url)}</code></li>" for url in dropped)
        warning = (
            '<div class="alert alert-warning m-2" role="alert" data-testid="offline-missing">'
            "This offline copy of the page leaves out what it would load from the network, so parts of it may not "
            f"work:<ul class='mb-0'>{names}</ul></div>"
        )
        text = _BODY.sub(lambda m: m.group(0) + warning, text, count=1)
    if decorative:
        names = ", ".join(f"<code>{html.escape(url)}</code>" for url in decorative)
        note = f'<p class="small text-muted m-2" data-testid="offline-missing">Left out offline: {names}.</p>'
        text = _BODY_END.sub(lambda m: note + m.group(0), text, count=1)
    return text, dropped + decorative


def localise_site(site_dir: Path) -> list[str]:
    """Copy the local assets into the site and rewrite every page; the URLs dropped (no local copy), once each."""
    copies = site_dir / _COPIES
    shutil.copytree(GX_COPIES, copies, dirs_exist_ok=True)
    for name in VEGA_COPIES:
        shutil.copyfile(VENDOR / name, copies / name)
    dropped: list[str] = []
    for page in sorted(site_dir.rglob("*.html")):
        to_root = "../" * (len(page.relative_to(site_dir).parts) - 1)
        text, missing = localise_page(page.read_text(encoding="utf-8"), to_root)
        page.write_text(text, encoding="utf-8")
        dropped += [url for url in missing if url not in dropped]
    return dropped


@dataclass
class Docs:
    """What the report says about one kind of documentation: where it is, or why it is not there."""

    built: bool
    index: str | None = None  # relative to the report folder
    note: str = ""
    suites: list[dict] = field(default_factory=list)
    offline_missing: list[str] = field(default_factory=list)


def warehouse_folder(path: Path) -> Path:
    """The folder a refresh keeps its files in: the warehouse's, also for a build file somewhere in its .build
    folder (orchestration/resources.py, RefreshSettings.build_dir)."""
    return next((parent.parent for parent in path.parents if parent.name == ".build"), path.parent)


def gx_data_docs(warehouse: Path, run_id: str, out_dir: Path) -> Docs:
    """GX's data docs of the run's kept validations in out_dir/gx-data-docs; none if the run kept none."""
    from expectations.data_docs import build_site, load_validations, run_store  # GX: ~2.6 s to import

    site_dir = out_dir / GX_DIR
    shutil.rmtree(site_dir, ignore_errors=True)
    records = load_validations(warehouse_folder(warehouse), run_id)
    if not records:
        return Docs(
            built=False,
            note=f"No Great Expectations validation results were kept for refresh {run_id} "
            f"(looked in {run_store(warehouse_folder(warehouse), run_id)}): a refresh keeps them there from gate 1 "
            "and gate 2 on.",
        )
    build_site(records, run_id, site_dir)
    missing = localise_site(site_dir)
    suites = []
    for record in records:
        name = record["suite_name"]
        pages = sorted((site_dir / "validations" / name).rglob("*.html"))
        statistics = record.get("statistics", {})
        suites.append(
            {
                "suite": name,
                "gate": name.split("_", 1)[0],
                "subject": name.split("_", 1)[1] if "_" in name else name,
                "success": record["success"],
                "evaluated": statistics.get("evaluated_expectations"),
                "successful": statistics.get("successful_expectations"),
                "page": pages[-1].relative_to(out_dir).as_posix() if pages else None,
            }
        )
    return Docs(built=True, index=f"{GX_DIR}/index.html", suites=suites, offline_missing=missing)


def dbt_docs(warehouse: Path, out_dir: Path) -> Docs:
    """dbt's static single-page docs in out_dir/dbt-docs/index.html (what `phm docs` builds, its static page only)."""
    from phm.docs import build_docs

    target = out_dir / DBT_DIR
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="phm-dq-dbt-docs-") as tmp:
        try:
            page = build_docs(warehouse, Path(tmp))
        except RuntimeError as e:
            return Docs(built=False, note=f"dbt docs could not be built: {str(e).strip()[:2000]}")
        target.mkdir(parents=True)
        shutil.copyfile(page, target / "index.html")
    return Docs(built=True, index=f"{DBT_DIR}/index.html")
