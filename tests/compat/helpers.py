"""Small helpers shared by the differential suites (tests/conftest.py has the ``diff`` fixture)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Differential
from tests.respclient import Reply, RespConnection


def check_near(diff: Differential, *cmd: Any, tolerance: int) -> tuple[int, int]:
    """Both replies are integers within ``tolerance`` of each other (TTLs: the two servers
    read their clocks a few ms apart, so exact equality would be a race, not a property)."""
    ref, ours = diff.both(*cmd)
    assert ref.type == ours.type == ":", f"{cmd!r}: redis {ref!r}, activekv {ours!r}"
    assert abs(ref.value - ours.value) <= tolerance, f"{cmd!r}: redis {ref!r}, activekv {ours!r}"
    return ref.value, ours.value


def check_type(diff: Differential, *cmd: Any) -> None:
    """Same RESP type (and same error text if an error); values may differ."""
    ref, ours = diff.both(*cmd)
    assert ref.type == ours.type, f"{cmd!r}: redis {ref!r}, activekv {ours!r}"
    if ref.type == "-":
        assert ref == ours, f"{cmd!r}: redis {ref!r}, activekv {ours!r}"


def connect(port: int, protocol: int) -> RespConnection:
    """A connection speaking RESP ``protocol`` (HELLO 3 for RESP3)."""
    conn = RespConnection(port, timeout=5.0)
    if protocol == 3:
        assert conn.call("HELLO", "3").type == "%"
    return conn


def until_marker(conn: RespConnection) -> list[Reply]:
    """What a subscriber got before the ``message`` on channel ``marker`` (bounded: 100 replies)."""
    got = []
    for _ in range(100):
        reply = conn.read_reply()
        if reply.value[0].value == b"message" and reply.value[1].value == b"marker":
            return got
        got.append(reply)
    raise AssertionError(f"no marker after {got!r}")
