"""Fixtures of the compat suites beyond tests/conftest.py's: the ACL suites' own server pair,
and ``other``: second connections to both servers."""

from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess
from tests.compat.acl_helpers import acl_servers, adiff
from tests.compat.helpers import connect
from tests.conftest import Differential
from tests.respclient import RespConnection

__all__ = ["acl_servers", "adiff", "other"]


@pytest.fixture
def other(diff: Differential, redis_ref: ServerProcess, activekv: ServerProcess) -> Iterator[list[RespConnection]]:
    """Second connections: [redis, activekv], same protocol as ``diff``."""
    conns = [connect(redis_ref.port, diff.protocol), connect(activekv.port, diff.protocol)]
    yield conns
    for conn in conns:
        conn.close()
