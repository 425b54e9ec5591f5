"""Failpoints: named places in a refresh where a crash test makes the process die on purpose.

A crash test cannot time a SIGKILL to land inside a stage from outside; a failpoint (the technique of FreeBSD's
fail(9), etcd's gofail and TiKV's fail-rs) lets it say where. Off unless PHM_FAILPOINT is set:
`PHM_FAILPOINT=<place>` kills this process with SIGKILL at that place (nothing runs after it: no finally, no
atexit, as when the machine loses power). Places: ingest (a feed loaded, not yet quarantined), gate1 (before a
feed's suite runs), dbt (dbt just started as a child process), publish (the new warehouse written beside the old
one, not yet renamed over it).
"""

from __future__ import annotations

import os
import signal

PLACES = ("ingest", "gate1", "dbt", "publish")


def failpoint(place: str) -> None:
    assert place in PLACES, place
    if os.environ.get("PHM_FAILPOINT", "") == place:
        os.kill(os.getpid(), signal.SIGKILL)
