"""Fixtures of the compat suites beyond tests/conftest.py's: the ACL suites' own server pair,
``debug_servers`` (a module's own pair with the DEBUG command enabled) and ``other``: second
connections to both servers."""

from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.compat.acl_helpers import acl_servers, adiff
from tests.compat.helpers import connect
from tests.conftest import Differential
from tests.respclient import RespConnection

__all__ = ["acl_servers", "adiff", "debug_servers", "other"]


@pytest.fixture(scope="module")
def debug_servers() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A redis-server and an activekv of the module's own, both with enable-debug-command."""
    with start_redis("--enable-debug-command", "yes") as ref, \
            start_activekv("--enable-debug-command", "yes") as ours:
        yield ref, ours


@pytest.fixture
def other(diff: Differential, redis_ref: ServerProcess, activekv: ServerProcess) -> Iterator[list[RespConnection]]:
    """Second connections: [redis, activekv], same protocol as ``diff``."""
    conns = [connect(redis_ref.port, diff.protocol), connect(activekv.port, diff.protocol)]
    yield conns
    for conn in conns:
        conn.close()
