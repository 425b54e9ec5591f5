"""`phm refresh` without --landing (the README's `make refresh`) generates the default population first. It calls
the `generate` command as a function, so every option must be given a value: a new option left to typer's default
reaches the generator as a typer OptionInfo and fails (it did, after --shard was added)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

import phm.cli
import synthetic
from phm.cli import DEFAULT_PATIENTS, DEFAULT_SEED, app


class Generated(Exception):
    pass


def test_refresh_without_landing_generates_with_real_values(tmp_path, monkeypatch):
    calls = []

    def fake_generate_drop(*args, **kwargs):
        calls.append((args, kwargs))
        raise Generated  # stop before the refresh itself: only the call is under test

    monkeypatch.delenv("PHM_LANDING_DIR", raising=False)
    monkeypatch.setattr(phm.cli, "default_landing_dir", lambda: tmp_path / "landing")
    monkeypatch.setattr(phm.cli, "default_warehouse_path", lambda: tmp_path / "warehouse" / "phm.duckdb")
    monkeypatch.setattr(synthetic, "generate_drop", fake_generate_drop)
    result = CliRunner().invoke(app, ["refresh", "--extract-date", "2026-10-31"])
    assert isinstance(result.exception, Generated), result.output
    (args, kwargs) = calls[0]
    values = [*args, *kwargs.values()]
    assert not [v for v in values if isinstance(v, (typer.models.OptionInfo, typer.models.ArgumentInfo))]
    assert args[:2] == (DEFAULT_PATIENTS, DEFAULT_SEED) and kwargs["shard"] == 0


def test_full_asks_the_refresh_for_a_full_build_and_its_absence_leaves_the_choice_to_the_settings(
    tmp_path, monkeypatch
):
    import phm.refresh

    asked = []

    def fake_run_refresh(*args, **kwargs):
        asked.append(kwargs["incremental"])
        raise Generated  # only the call is under test

    monkeypatch.setattr(phm.refresh, "run_refresh", fake_run_refresh)
    (tmp_path / "landing").mkdir()
    for extra in (["--full"], []):
        result = CliRunner().invoke(app, ["refresh", "--landing", str(tmp_path / "landing"), *extra])
        assert isinstance(result.exception, Generated), result.output
    assert asked == [False, None]  # None: RefreshSettings reads PHM_INCREMENTAL, else incremental when allowed
