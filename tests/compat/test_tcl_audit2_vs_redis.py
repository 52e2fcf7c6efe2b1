"""Second round of differences found by running Redis's own TCL unit tests against activekv
(/work/redis-tests, outside the repo); each fixed one is pinned here against a real
redis-server, RESP2 and RESP3. Our own tests, not copies of Redis's."""

from __future__ import annotations

from tests.conftest import Differential
from tests.respclient import RespConnection


def test_smove_to_a_destination_holding_the_member_leaves_watch_clean(
        diff: Differential, other: list[RespConnection]) -> None:
    # Redis signals the destination as modified only when the member was added to it.
    diff.check_all(("SADD", "src", "a", "b"), ("SADD", "dst", "a"), ("WATCH", "dst"), ("MULTI",),
                   ("SCARD", "dst"))
    for conn in other:
        assert conn.call("SMOVE", "src", "dst", "a").value == 1
    diff.check("EXEC")
    diff.check_all(("SMEMBERS", "src"), ("SMEMBERS", "dst"))
    # The source still counts as modified, and a real addition signals the destination.
    diff.check_all(("WATCH", "src"), ("MULTI",), ("SCARD", "src"))
    for conn in other:
        assert conn.call("SMOVE", "src", "dst", "b").value == 1
    diff.check("EXEC")
    diff.check_all(("SADD", "src", "c"), ("WATCH", "dst"), ("MULTI",), ("SCARD", "dst"))
    for conn in other:
        assert conn.call("SMOVE", "src", "dst", "c").value == 1
    diff.check("EXEC")
