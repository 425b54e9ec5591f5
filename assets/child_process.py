"""A child process of the refresh that dies with it (phm-dbt, the Spark ingest and raw stages).

When the refresh is killed (SIGKILL, out of memory, a lost session) nothing in it can stop its children, which would
go on writing into a build folder no one will read. Linux's PR_SET_PDEATHSIG asks the kernel to SIGKILL the child
when its parent dies; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(expected_parent: str, name: str) -> None:
    """Ask to be killed with the parent; exit at once if the parent (its process id, as text; empty: unknown) has
    already gone, since then this process has a new parent and the request came too late."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if expected_parent.isdigit() and os.getppid() != int(expected_parent):
        sys.exit(f"{name}: the refresh that started it has gone")


def run_module_child(module: str, arguments: list[str], cwd: Path, name: str) -> str:
    """`python -m <module> <arguments> --parent-pid <this process>` (the module calls die_with_parent with it);
    returns its standard output. A failure raises RuntimeError naming `name` with the last lines of its error
    output (a JVM's stack trace lines left out)."""
    command = [sys.executable, "-m", module, *arguments, "--parent-pid", str(os.getpid())]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith(("\t", " "))]
        raise RuntimeError(f"{name} failed (exit {done.returncode}): {' | '.join(lines[-3:])}")
    return done.stdout
