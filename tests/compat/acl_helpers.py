"""Shared by the ACL differential suites: a Redis/activekv pair of our own (ACL state is
global to a server, so these tests do not touch the session servers), the comparison of
rule strings, and resetting both servers' users between tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.conftest import Differential
from tests.respclient import Reply, RespConnection

_SINGLE = re.compile(rb"^[+-][^@]")
_OURS = re.compile(rb"^[+-]crdt\.")


def norm_rules(text: bytes) -> bytes:
    """Redis prints the single-command part of a rule string (``+get +set``) in its command
    dict's order, which is random per process: sort that part, keep everything else.

    Our own commands (CRDT.*) are not in Redis: where a user's categories do not say whether
    it may run them, our description names them (``+crdt.digest``) so that it still recreates
    the user exactly; those tokens are left out of the comparison."""
    parts = re.split(rb" (?=\()", text)
    out = []
    for part in parts:
        opened = part.startswith(b"(")
        body = part[1:-1] if opened else part
        tokens = body.split(b" ")
        tokens = [t for t in tokens if not _OURS.match(t)]
        singles = sorted(t for t in tokens if _SINGLE.match(t))
        rest = [t for t in tokens if not _SINGLE.match(t)]
        body = b" ".join(rest + singles)
        out.append(b"(" + body + b")" if opened else body)
    return b" ".join(out)


def norm(reply: Reply) -> Reply:
    """A reply with every rule string normalised (ACL LIST lines, GETUSER's commands)."""
    if reply.type == "$" and isinstance(reply.value, bytes) and (
            reply.value.startswith((b"user ", b"-@all", b"+@all"))):
        return Reply("$", norm_rules(reply.value))
    if reply.type in "*~" and reply.value is not None:
        return Reply(reply.type, [norm(r) for r in reply.value])
    if reply.type == "%":
        return Reply("%", [(norm(k), norm(v)) for k, v in reply.value])
    return reply


def reset_acl(conn: RespConnection) -> None:
    users = conn.call("ACL", "USERS").value
    names = [u.value for u in users if u.value != b"default"]
    if names:
        conn.call("ACL", "DELUSER", *names)
    conn.call("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all")
    conn.call("ACL", "LOG", "RESET")
    conn.call("CONFIG", "SET", "acl-pubsub-default", "resetchannels", "acllog-max-len", "128")


class AclDiff(Differential):
    def __init__(self, ref_port: int, our_port: int, protocol: int) -> None:
        self.ports = (ref_port, our_port)
        super().__init__(ref_port, our_port, protocol)
        self.extra: list[tuple[RespConnection, RespConnection]] = []

    def check_norm(self, *args: Any) -> Reply:
        ref, ours = self.both(*args)
        ref, ours = norm(ref), norm(ours)
        assert ours == ref, f"RESP{self.protocol} {args!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"
        return ours

    def connect(self) -> tuple[RespConnection, RespConnection]:
        """Another pair of connections (same protocol), closed at the end of the test."""
        pair = (RespConnection(self.ports[0]), RespConnection(self.ports[1]))
        if self.protocol == 3:
            for conn in pair:
                conn.call("HELLO", "3")
        self.extra.append(pair)
        return pair

    def close(self) -> None:
        for ref, ours in self.extra:
            ref.close()
            ours.close()
        super().close()


@pytest.fixture(scope="module")
def acl_servers() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with start_redis() as ref, start_activekv() as ours:
        yield ref, ours


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def adiff(request: pytest.FixtureRequest, acl_servers: tuple[ServerProcess, ServerProcess]) -> Iterator[AclDiff]:
    ref, ours = acl_servers
    d = AclDiff(ref.port, ours.port, request.param)
    try:
        yield d
    finally:
        d.close()
        for port in (ref.port, ours.port):
            conn = RespConnection(port)
            reset_acl(conn)
            conn.close()
