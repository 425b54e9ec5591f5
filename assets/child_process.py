"""A child process of the refresh that dies with it (phm-dbt, the Spark raw stage).

When the refresh is killed (SIGKILL, out of memory, a lost session) nothing in it can stop its children, which would
go on writing into a build folder no one will read. Linux's PR_SET_PDEATHSIG asks the kernel to SIGKILL the child
when its parent dies; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(expected_parent: str, name: str) -> None:
    """Ask to be killed with the parent; exit at once if the parent (its process id, as text; empty: unknown) has
    already gone, since then this process has a new parent and the request came too late."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if expected_parent.isdigit() and os.getppid() != int(expected_parent):
        sys.exit(f"{name}: the refresh that started it has gone")
