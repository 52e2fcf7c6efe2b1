"""MGET reads are accesses (Redis's lookupKeyRead): OBJECT IDLETIME drops back to 0, which LRU
eviction relies on (server/eviction.py)."""

from __future__ import annotations

import time

from tests.conftest import Differential


def _no_child(diff: Differential) -> None:
    """Redis does not touch keys while it has a child process (a background save: no
    copy-on-write for an access time), so no save may be running; ``--save ""`` is how the
    session's redis-server started (another test may have changed it)."""
    diff.ref.call("CONFIG", "SET", "save", "")
    deadline = time.monotonic() + 10
    while b"rdb_bgsave_in_progress:1" in diff.ref.call("INFO", "persistence").plain():
        assert time.monotonic() < deadline, "a background save that does not end"
        time.sleep(0.05)


def test_mget_touches_the_keys_it_reads(diff: Differential) -> None:
    _no_child(diff)
    diff.check_all(("SET", "a", "1"), ("SET", "b", "2"))
    time.sleep(1.1)
    ref, ours = diff.both("OBJECT", "IDLETIME", "a")
    assert ref.value >= 1 and ours.value >= 1
    diff.check("MGET", "a", "nosuch", "b")
    diff.check("OBJECT", "IDLETIME", "a")
    diff.check("OBJECT", "IDLETIME", "b")
