"""Shared fixtures: real server processes on loopback, and differential comparison.

* ``redis_ref`` / ``activekv``: one real ``redis-server`` and one ``activekv-server`` per test
  session (started on free loopback ports, always stopped at the end).
* ``diff``: a pair of connections (Redis, activekv) in RESP2 or RESP3 — every test using it
  runs under both — with both databases flushed. ``diff.check(*cmd)`` sends the command to
  both and asserts the replies (type and value, errors included) are identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.respclient import Reply, RespConnection


@pytest.fixture(scope="session")
def redis_ref() -> Iterator[ServerProcess]:
    with start_redis() as proc:
        yield proc


@pytest.fixture(scope="session")
def activekv() -> Iterator[ServerProcess]:
    with start_activekv() as proc:
        yield proc


def _sorted_reply(reply: Reply) -> Reply:
    if reply.type in "*~" and reply.value is not None:
        return Reply(reply.type, sorted(reply.value, key=repr))
    if reply.type == "%":
        return Reply(reply.type, sorted(reply.value, key=repr))
    return reply


class Differential:
    def __init__(self, ref_port: int, our_port: int, protocol: int) -> None:
        self.protocol = protocol
        self.ref = RespConnection(ref_port)
        self.ours = RespConnection(our_port)
        for conn in (self.ref, self.ours):
            if protocol == 3:
                assert conn.call("HELLO", "3").type == "%"
            conn.call("FLUSHALL")

    def both(self, *args: Any) -> tuple[Reply, Reply]:
        return self.ref.call(*args), self.ours.call(*args)

    def check(self, *args: Any, unordered: bool = False) -> Reply:
        """Send to both; replies must be identical (as multisets when ``unordered``)."""
        ref, ours = self.both(*args)
        if unordered:
            ref, ours = _sorted_reply(ref), _sorted_reply(ours)
        assert ours == ref, f"RESP{self.protocol} {args!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"
        return ours

    def check_all(self, *commands: tuple[Any, ...]) -> None:
        for cmd in commands:
            self.check(*cmd)

    def close(self) -> None:
        self.ref.close()
        self.ours.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def diff(request: pytest.FixtureRequest, redis_ref: ServerProcess, activekv: ServerProcess) -> Iterator[Differential]:
    d = Differential(redis_ref.port, activekv.port, request.param)
    yield d
    d.close()
