"""MGET reads are accesses (Redis's lookupKeyRead): OBJECT IDLETIME drops back to 0, which LRU
eviction relies on (server/eviction.py)."""

from __future__ import annotations

import time

from tests.conftest import Differential


def test_mget_touches_the_keys_it_reads(diff: Differential) -> None:
    diff.check_all(("SET", "a", "1"), ("SET", "b", "2"))
    time.sleep(1.1)
    ref, ours = diff.both("OBJECT", "IDLETIME", "a")
    assert ref.value >= 1 and ours.value >= 1
    diff.check("MGET", "a", "nosuch", "b")
    diff.check("OBJECT", "IDLETIME", "a")
    diff.check("OBJECT", "IDLETIME", "b")
