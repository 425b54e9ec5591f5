"""The web page's reader: one open file and a cursor per request, a new file as soon as a publish renames one in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pytest

from assets.paths import identity_path
from phm import warehouse as warehouse_module
from phm.warehouse import IdentityMissing, PublishedReader, WarehouseMissing


def _write(path, run_id: str) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.refresh_log AS SELECT ? AS run_id", [run_id])


def _publish(path, run_id: str) -> None:
    """As assets/publish.py does: a new file written beside, then renamed over the path."""
    staged = path.with_name("staged.duckdb")
    _write(staged, run_id)
    os.replace(staged, path)


@contextmanager
def _reader(path, identity: bool = False) -> Iterator[PublishedReader]:
    reader = PublishedReader(path, identity=identity)
    try:
        yield reader
    finally:
        reader.close()


def _run_id(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT run_id FROM meta.refresh_log").fetchall()[0][0]


def test_cursors_share_one_open_file(tmp_path, monkeypatch):
    path = tmp_path / "phm.duckdb"
    _write(path, "first")
    opened = []
    real_open = warehouse_module.open_reader

    def counting_open(*args, **kwargs):
        opened.append(args)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(warehouse_module, "open_reader", counting_open)
    with _reader(path) as reader:
        for _ in range(3):
            with reader.cursor() as con:
                assert _run_id(con) == "first"
    assert len(opened) == 1


def test_a_publish_is_read_from_the_next_cursor_on(tmp_path):
    path = tmp_path / "phm.duckdb"
    _write(path, "first")
    with _reader(path) as reader:
        running = reader.cursor()  # a request that started before the publish
        assert _run_id(running) == "first"
        _publish(path, "second")
        with reader.cursor() as con:
            assert _run_id(con) == "second"
        assert _run_id(running) == "first"  # finishes on the file it started on
        running.close()
        _publish(path, "third")
        with reader.cursor() as con:
            assert _run_id(con) == "third"


def test_a_new_identity_file_is_read_too(tmp_path):
    path = tmp_path / "phm.duckdb"
    _write(path, "first")
    identity = identity_path(path)
    with duckdb.connect(str(identity)) as con:
        con.execute("CREATE TABLE nhs AS SELECT 'old' AS v")
    with _reader(path, identity=True) as reader:
        with reader.cursor() as con:
            assert con.execute("SELECT v FROM identity.nhs").fetchall() == [("old",)]
        staged = tmp_path / "staged-identity.duckdb"
        with duckdb.connect(str(staged)) as con:
            con.execute("CREATE TABLE nhs AS SELECT 'new' AS v")
        os.replace(staged, identity)
        with reader.cursor() as con:
            assert con.execute("SELECT v FROM identity.nhs").fetchall() == [("new",)]


def test_missing_files_are_named(tmp_path):
    path = tmp_path / "phm.duckdb"
    with pytest.raises(WarehouseMissing, match=r"phm\.duckdb"):
        PublishedReader(path).cursor()
    _write(path, "first")
    with _reader(path) as reader:
        with reader.cursor() as con:
            assert _run_id(con) == "first"
        path.unlink()
        with pytest.raises(WarehouseMissing):
            reader.cursor()
    with pytest.raises(IdentityMissing):
        _write(path, "again")
        PublishedReader(path, identity=True).cursor()
