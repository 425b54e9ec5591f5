"""The incremental refresh: what a refresh keeps from the last published one instead of building it again.

A refresh starts from the last published refresh's build file (moved into this run's folder, not copied) when
nothing that decides the published tables differs but the drop's files: the same reference date, the same pipeline
(`pipeline_digest`: the dbt project, seeds, contract, stage code and the engines' versions), DuckDB for both, and
no full refresh asked for (`phm refresh --full`, PHM_INCREMENTAL=0). Then:
- a feed whose file has the sha256, name, rows and extract date it had in that refresh keeps its landed rows,
  quarantine and gate flags: ingest neither reads it nor runs the quarantine pass (its sha256 is still checked
  against the manifest, and gate 1 still judges it from the kept flags, its rows against the last published count);
- the person key is built again, hashing only NHS numbers the kept one lacks (when made with the same key), and
  compared with the kept one;
- dbt builds only what lies downstream of a changed feed, of the person key if it changed, and of the models that
  compare with the previous publication (tag previous_publication); every other seed, model and test is kept, and a
  kept test's result is carried from that refresh (same inputs, same result); the prior-year rebuild of the risk
  validation leaves out the same kept models.
Anything else is a full refresh, and the run says why. Either way the published tables are the same
(tests/e2e/test_incremental.py compares them table by table).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import duckdb
import pyarrow as pa
from dagster_dbt.utils import select_unique_ids

from assets.paths import PROJECT_ROOT, project_source_files
from assets.run_meta import HISTORY_TABLES, connect, record_setting, run_setting

INCREMENTAL_VARIABLE = "PHM_INCREMENTAL"
# The dbt models that read the previous publication (the target lists' movement): rebuilt by every refresh.
PREVIOUS_PUBLICATION_SELECTOR = "tag:previous_publication"
PERSON_KEY_SOURCE = "person_key"
# What decides how a drop becomes tables, beside the dbt project's own files: the stage code and the contract.
STAGE_CODE_FOLDERS = ("assets", "expectations", "contracts")
ENGINE_PACKAGES = ("duckdb", "dbt-core", "dbt-duckdb", "great-expectations")
META_TABLES = ("run_context", "run_settings", *HISTORY_TABLES)


def incremental_allowed() -> bool:
    """PHM_INCREMENTAL=0 asks for a full refresh (read when a run starts; RefreshSettings.incremental overrides)."""
    return os.environ.get(INCREMENTAL_VARIABLE, "").strip() != "0"


def pipeline_digest() -> str:
    """sha256 of everything, but the drop, that decides the published tables: the dbt project's files and seeds, the
    stage code, the contract, and the versions of DuckDB, dbt and Great Expectations. Two refreshes with the same
    digest, reference date and inputs publish the same tables."""
    digest = hashlib.sha256()
    stage_code = [p for folder in STAGE_CODE_FOLDERS for p in (PROJECT_ROOT / folder).rglob("*") if p.is_file()]
    for path in sorted({*project_source_files(), *(p for p in stage_code if p.suffix in (".py", ".yaml", ".csv"))}):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ENGINE_PACKAGES:
        digest.update(f"{package}=={metadata.version(package)}\0".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Base:
    """The last published refresh, whose build file this refresh starts from."""

    run_id: str
    build_path: Path
    extract_date: str
    feeds: dict  # the drop manifest's feeds: name -> {file, sha256, rows}


def find_base(
    warehouse: Path,
    build_path_of: dict[str, Path],
    reference_date: str,
    engine: str,
    digest: str,
    allowed: bool = True,
) -> tuple[Base | None, str]:
    """The last published refresh if this one may start from its build file, else None; and why not.
    `build_path_of`: the build file of each run id that still has one; `allowed`: False for a full refresh asked for
    (`phm refresh --full`, PHM_INCREMENTAL=0)."""
    if not allowed:
        return None, f"a full refresh was asked for (--full or {INCREMENTAL_VARIABLE}=0)"
    if engine != "duckdb":
        return None, f"the {engine} engine builds every refresh in full"
    if not warehouse.exists():
        return None, "nothing is published yet"
    with connect(warehouse, read_only=True) as con:
        rows = con.execute(
            "SELECT run_id, CAST(reference_date AS VARCHAR) FROM meta.refresh_log ORDER BY published_at DESC LIMIT 1"
        ).fetchall()
    if not rows:
        return None, "nothing is published yet"
    run_id, published_reference = rows[0]
    if published_reference != reference_date:
        return None, f"the reference date moved ({published_reference} to {reference_date})"
    path = build_path_of.get(run_id)
    if path is None or not path.exists():
        return None, f"the build file of the published refresh {run_id} is gone"
    try:
        with connect(path, read_only=True) as con:
            context = con.execute(
                "SELECT CAST(extract_date AS VARCHAR), manifest FROM meta.run_context WHERE run_id = ?", [run_id]
            ).fetchall()
            settings = dict(
                con.execute("SELECT setting, value FROM meta.run_settings WHERE run_id = ?", [run_id]).fetchall()
            )
    except duckdb.Error as e:
        return None, f"the build file of the published refresh does not open: {e}"
    if not context:
        return None, "the published refresh's build file does not describe it"
    if settings.get("engine") != "duckdb":
        return None, "the published refresh was built on another engine"
    if settings.get("pipeline_digest") != digest:
        return None, "the pipeline (code, seeds, contract or engine versions) changed since the published refresh"
    extract_date, manifest = context[0]
    return Base(run_id, path, extract_date, json.loads(manifest).get("feeds") or {}), ""


def adopt(base: Base, build_path: Path) -> None:
    """Move the base's build file to this run's path (same folder tree, so a rename); it is never read by users."""
    build_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        source = base.build_path.with_name(base.build_path.name + suffix)
        if source.exists():
            os.replace(source, build_path.with_name(build_path.name + suffix))


def plan(con: duckdb.DuckDBPyConnection, run_id: str, base: Base, extract_date: str, feeds: dict) -> list[str]:
    """Record in meta.run_settings which refresh this one starts from and which feeds it keeps (same file, same
    sha256, same extract date); drop what the build file says of runs other than the base. Returns the kept feeds."""
    for table in META_TABLES:
        con.execute(f"DELETE FROM meta.{table} WHERE run_id <> ?", [base.run_id])
    kept = sorted(
        name
        for name, entry in feeds.items()
        if extract_date == base.extract_date
        and isinstance(entry, dict)
        and entry.get("sha256")
        and {k: entry.get(k) for k in ("file", "sha256", "rows")}
        == {k: (base.feeds.get(name) or {}).get(k) for k in ("file", "sha256", "rows")}
    )
    record_setting(con, run_id, "incremental_base", base.run_id)
    record_setting(con, run_id, "kept_feeds", json.dumps(kept))
    return kept


def base_run(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    """The refresh this run started from, or None for a full refresh."""
    return run_setting(con, run_id, "incremental_base")


def kept_feeds(con: duckdb.DuckDBPyConnection, run_id: str) -> set[str]:
    return set(json.loads(run_setting(con, run_id, "kept_feeds") or "[]"))


KEPT_PERSON_KEY = "kept_person_key"


def remember_person_key(con: duckdb.DuckDBPyConnection, base_run_id: str, key_description: str) -> str | None:
    """Before the person key is built again: the kept one, in this connection, for `record_person_key_change`.
    Returns its name when it was made with this run's key (the base's key description is this one's), so only new
    NHS numbers need hashing (assets/pseudonym.py); else None."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {KEPT_PERSON_KEY} AS SELECT * FROM raw.person_key")
    base_key = run_setting(con, base_run_id, "pseudonym_key")
    return KEPT_PERSON_KEY if base_key == key_description else None


def record_person_key_change(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether the person key differs from the kept one in any row (another person, or another key)."""
    differing = con.execute(
        f"SELECT count(*) FROM ((SELECT * FROM raw.person_key EXCEPT ALL SELECT * FROM {KEPT_PERSON_KEY}) "
        f"UNION ALL (SELECT * FROM {KEPT_PERSON_KEY} EXCEPT ALL SELECT * FROM raw.person_key))"
    ).fetchall()[0][0]
    con.execute(f"DROP TABLE {KEPT_PERSON_KEY}")
    record_setting(con, run_id, "person_key_changed", str(differing > 0))
    return differing > 0


@dataclass(frozen=True)
class DbtPlan:
    """What an incremental run's dbt builds: `kept` are the nightly build's node ids it keeps; `build_exclude` leaves
    out every node but the rebuilt ones (with --indirect-selection empty: dbt then drops no test of a rebuilt model
    for having a kept parent, as its default would); `kept_exclude` leaves out the kept ones only."""

    base_run_id: str
    kept: frozenset[str]
    build_exclude: str
    kept_exclude: str


def dbt_plan(build_path: Path, run_id: str, manifest: dict, nightly_exclude: str) -> DbtPlan | None:
    """For an incremental run, the nodes of the nightly build (all but `nightly_exclude`) to rebuild: those
    downstream of what changed (the feeds not kept, the person key when it changed, the previous publication) and
    every test with a rebuilt parent. None for a full refresh."""
    with connect(build_path, read_only=True) as con:
        base = base_run(con, run_id)
        if base is None:
            return None
        kept_feed_names = kept_feeds(con, run_id)
        person_key_changed = run_setting(con, run_id, "person_key_changed") != "False"
    raw_sources = {s["name"] for s in manifest.get("sources", {}).values() if s.get("source_name") == "raw"}
    changed = sorted(raw_sources - kept_feed_names - {PERSON_KEY_SOURCE})
    changed += [PERSON_KEY_SOURCE] if person_key_changed else []
    rebuild = " ".join([*(f"source:raw.{name}+" for name in changed), f"{PREVIOUS_PUBLICATION_SELECTOR}+"])

    def select(spec: str) -> set[str]:
        return set(select_unique_ids(spec, nightly_exclude, "", None, manifest))

    nodes = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    rebuilt = select(rebuild) & set(nodes)
    kept = select("fqn:*") - rebuilt

    def fqn(unique_id: str) -> list[str]:
        return [part for segment in nodes[unique_id]["fqn"] for part in segment.split(".")]

    excluded = sorted(set(nodes) - rebuilt)
    # dbt's fqn: method matches every node whose fqn starts with the given one: none may start a rebuilt node's.
    starts = {tuple(fqn(uid)[:n]) for uid in rebuilt for n in range(1, len(fqn(uid)) + 1)}
    if any(tuple(fqn(uid)) in starts or any(c in ".".join(fqn(uid)) for c in "*?[]") for uid in excluded):
        raise RuntimeError("an incremental build cannot name its kept nodes exactly (fqn prefixes overlap)")
    return DbtPlan(
        base,
        frozenset(kept),
        " ".join("fqn:" + ".".join(fqn(uid)) for uid in excluded),
        " ".join("fqn:" + ".".join(fqn(uid)) for uid in sorted(kept)),
    )


def carry_kept_test_results(
    con: duckdb.DuckDBPyConnection, run_id: str, base_run_id: str, kept_tests: list[tuple[str, str]]
) -> None:
    """The result each kept test had in the base refresh, as this run's (its inputs are the base's): replaces this
    run's 'did not run' rows. A kept test without a result there stays 'did not run', which blocks publishing."""
    if not kept_tests:
        return
    con.register("kept_tests", pa.table({"feed": [t for t, _ in kept_tests], "rule_id": [n for _, n in kept_tests]}))
    kept = "EXISTS (SELECT 1 FROM kept_tests AS k WHERE k.feed = c.feed AND k.rule_id = c.rule_id)"
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE carried AS
                SELECT * REPLACE (? AS run_id, 'kept from refresh ' || run_id || ': ' || message AS message)
                FROM meta.check_results AS c WHERE run_id = ? AND stage = 'dbt' AND {kept}""",
            [run_id, base_run_id],
        )
        con.execute(
            """DELETE FROM meta.check_results AS c WHERE run_id = ? AND stage = 'dbt'
               AND EXISTS (SELECT 1 FROM carried AS k WHERE k.feed = c.feed AND k.rule_id = c.rule_id)""",
            [run_id],
        )
        con.execute("INSERT INTO meta.check_results SELECT * FROM carried")
        con.execute("DROP TABLE carried")
    finally:
        con.unregister("kept_tests")


def describe(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """One line for the refresh summary: incremental from which refresh, keeping which feeds; or full, and why."""
    base = base_run(con, run_id)
    if base is None:
        why = run_setting(con, run_id, "full_refresh_reason")
        return "full refresh" + (f" ({why})" if why else "")
    kept = sorted(kept_feeds(con, run_id))
    person_key = run_setting(con, run_id, "person_key_changed")
    return (
        f"incremental from refresh {base}: {len(kept)} feed(s) kept unread"
        + (f" ({', '.join(kept)})" if kept else "")
        + ("" if person_key is None else f"; person key {'changed' if person_key == 'True' else 'unchanged'}")
    )
