"""`phm-dbt`: dbt as the refresh starts it, a child that dies with its parent.

A refresh runs dbt as a child process (dagster-dbt). When the refresh is killed (SIGKILL, out of memory, a lost
session) nothing in it can stop that child, which would go on building into a build file no one will read,
holding its lock and two cores. Linux's PR_SET_PDEATHSIG asks the kernel to SIGKILL this process when its parent
dies; it is set here, before dbt starts, and dbt then runs in this same process. Elsewhere it is plain dbt.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

# Set by the refresh to its own process id before it starts dbt (orchestration/dbt_project.py).
DBT_PARENT_VARIABLE = "PHM_DBT_PARENT"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def main() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # The refresh may have died before the request was in place (then this process has a new parent).
        expected = os.environ.get(DBT_PARENT_VARIABLE, "")
        if expected.isdigit() and os.getppid() != int(expected):
            sys.exit("phm-dbt: the refresh that started dbt has gone")
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
