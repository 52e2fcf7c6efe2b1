"""``activekv-load-rdb`` into one region of three (SEMANTICS: RESTORE and FUNCTION RESTORE are
ordinary local writes; function libraries are replicated data; pending lists and consumers are
local to a region): a redis-server 7.0.15 dump imported into region 0 while region 2 is cut off
reaches every region once the links heal, and all three converge to the same digest."""

from __future__ import annotations

from typing import Any

import redis

from server.harness.processes import start_redis
from tests.compat.rdbload_kit import fill, run_import, save, snapshot, wait_expired
from tests.multiregion.rowkit import Rows, make_fixtures

cluster, rows = make_fixtures()


def _replicated(snap: dict[tuple[int, bytes], Any]) -> dict[tuple[int, bytes], Any]:
    """What every region shares: a stream's entries, not its pending lists (local)."""
    out = {}
    for k, (kind, expire, _, encoding, value) in snap.items():
        out[k] = (kind, expire, encoding, value[0] if kind == b"stream" else value)
    return out


def test_an_import_into_one_region_converges_in_all(rows: Rows, tmp_path: Any) -> None:
    with start_redis() as ref, redis.Redis(port=ref.port, socket_timeout=10) as r:
        expired = fill(r)
        path = save(r, ref.workdir)
        wait_expired(r, expired)
        want = _replicated(snapshot(ref.port))
        functions = sorted(r.function_list(withcode=True))
        saved = tmp_path / "dump.rdb"
        saved.write_bytes(open(path, "rb").read())
    rows.c.wait_converged()
    rows.c.isolate(2)
    done = run_import(str(saved), rows.c.ports[0], "--quiet")
    assert done.returncode == 0, done.stderr
    assert _replicated(snapshot(rows.c.ports[0])) == want
    rows.heal()
    for i in range(3):
        assert _replicated(snapshot(rows.c.ports[i])) == want, f"region {i}"
        with rows.c.client(i) as c:
            assert sorted(c.function_list(withcode=True)) == functions
            assert c.fcall("f1", 0) == b"one"
    # the group's pending entries stay where the import ran
    pending = []
    for i in range(3):
        with rows.c.client(i) as c:
            pending.append(c.xpending("stream", "g1")["pending"])
    assert pending == [7, 0, 0]
    rows.digests_equal()
