"""The top-level packages depend one way (pyproject.toml, [tool.importlinter]): no cycle, no upward import."""

from __future__ import annotations

from importlinter.cli import lint_imports

from assets.paths import PROJECT_ROOT


def test_packages_import_one_way(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    # 0 when every contract is kept; the broken import chain is printed otherwise
    assert lint_imports(config_filename=str(PROJECT_ROOT / "pyproject.toml"), no_cache=True) == 0
