"""`phm-dbt`: dbt as the refresh starts it, a child that dies with its parent.

A refresh runs dbt as a child process (dagster-dbt). When the refresh is killed (SIGKILL, out of memory, a lost
session) nothing in it can stop that child, which would go on building into a build file no one will read,
holding its lock and two cores. Linux's PR_SET_PDEATHSIG asks the kernel to SIGKILL this process when its parent
dies (assets/child_process.py); it is set here, before dbt starts, and dbt then runs in this same process. Elsewhere
it is plain dbt.

It also spares dbt its parse: given a kept parse of the project (PHM_DBT_PARSED_MANIFEST, named by
orchestration/dbt_project.py's parsed_manifest_path after everything that decides it), dbt runs on it through
dbt's own programmatic runner (dbtRunner with a manifest); without one, dbt parses as usual and the parse it wrote
(partial_parse.msgpack in its target folder) is kept under that name for the next run.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from assets.child_process import die_with_parent

# Set by the refresh to its own process id before it starts dbt (orchestration/dbt_project.py).
DBT_PARENT_VARIABLE = "PHM_DBT_PARENT"
# Set by the refresh before it starts dbt: where the parse for this invocation is (or will be) kept.
PARSED_MANIFEST_VARIABLE = "PHM_DBT_PARSED_MANIFEST"
PARSED_MANIFESTS_KEPT = 6


def run_on_parsed_manifest(parsed: Path, args: list[str]) -> int | None:
    """dbt's exit code for args run on the kept parse; None when that parse cannot be read (then dbt parses)."""
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    try:
        manifest = Manifest.from_msgpack(parsed.read_bytes())
    except Exception:  # any damage: parse afresh (and keep the new parse)
        parsed.unlink(missing_ok=True)
        return None
    manifest.build_flat_graph()  # what dbt's own parse ends with (models read `graph` through it)
    result = dbtRunner(manifest=manifest).invoke(args)
    if result.success:
        return 0
    return 2 if result.exception is not None else 1  # dbt's own codes: 1 a node failed, 2 dbt itself failed


def keep_parse(parsed: Path, since: float) -> None:
    """Keep the parse dbt wrote since `since`, atomically (two refreshes may finish the same parse at once); only
    the latest few parses are kept. An older file there is dagster-dbt's copy of the project's own parse (made
    with other vars), left when dbt stopped before parsing: never kept."""
    written = Path(os.environ.get("DBT_TARGET_PATH", "target")) / "partial_parse.msgpack"
    if not written.is_file() or written.stat().st_mtime < since or parsed.exists():
        return
    parsed.parent.mkdir(parents=True, exist_ok=True)
    partial = parsed.with_name(f".{parsed.name}.{os.getpid()}")
    shutil.copyfile(written, partial)
    os.replace(partial, parsed)
    kept = sorted(parsed.parent.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in kept[PARSED_MANIFESTS_KEPT:]:
        old.unlink(missing_ok=True)


def main() -> None:
    die_with_parent(os.environ.get(DBT_PARENT_VARIABLE, ""), "phm-dbt")
    parsed = Path(os.environ[PARSED_MANIFEST_VARIABLE]) if os.environ.get(PARSED_MANIFEST_VARIABLE) else None
    if parsed is not None and parsed.is_file():
        code = run_on_parsed_manifest(parsed, sys.argv[1:])
        if code is not None:
            sys.exit(code)
    from dbt.cli.main import cli

    started = time.time()
    try:
        cli()
    finally:
        if parsed is not None:
            keep_parse(parsed, started)


if __name__ == "__main__":
    main()
