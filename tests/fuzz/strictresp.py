"""A strict RESP2/RESP3 reply parser for the fuzzers: every byte a server sends must belong to
a well-formed reply of the protocol the connection speaks, or the parse fails.

Unlike ``tests.respclient`` (which is lenient, for readable tests), this checks what the
protocol spec (redis.io "RESP protocol spec") requires: a ``\\r\\n`` after every line and after
every bulk payload, integer lines that are integers, doubles that are doubles (``inf``,
``-inf``, ``nan`` included), booleans ``t``/``f``, big numbers of digits, verbatim strings with
a three-byte format and a colon, and no RESP3 type at all on a RESP2 connection.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

RESP2_TYPES = b"+-:$*"
RESP3_TYPES = RESP2_TYPES + b"_,#!=(%~|>"
INT_RE = re.compile(rb"-?[0-9]+\Z")
DOUBLE_RE = re.compile(rb"(-?inf|nan|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)\Z")
BIG_RE = re.compile(rb"-?[0-9]+\Z")


class BadReply(Exception):
    """The bytes are not a valid RESP reply."""


class Value(NamedTuple):
    type: str
    value: Any


class Incomplete(Exception):
    """More bytes are needed."""


def parse(buf: bytes, pos: int, resp3: bool, depth: int = 0) -> tuple[Value, int]:
    """One reply starting at ``buf[pos]``: ``(value, next position)``. Raises ``Incomplete``
    when the buffer ends first, ``BadReply`` when the bytes are not RESP."""
    if depth > 64:
        raise BadReply("nesting deeper than 64")
    if pos >= len(buf):
        raise Incomplete
    end = buf.find(b"\r\n", pos)
    if end < 0:
        if b"\n" in buf[pos:] or b"\r" in buf[pos:-1]:
            raise BadReply(f"bare CR or LF in a line at {pos}: {buf[pos:pos + 60]!r}")
        raise Incomplete
    t = buf[pos:pos + 1]
    line = buf[pos + 1:end]
    nxt = end + 2
    allowed = RESP3_TYPES if resp3 else RESP2_TYPES
    if t not in allowed or b"\n" in line or b"\r" in line:
        raise BadReply(f"bad reply line at {pos} (resp3={resp3}): {buf[pos:end + 2][:80]!r}")
    kind = t.decode()
    if kind in "+-":
        return Value(kind, line), nxt
    if kind == ":":
        _need(INT_RE, line, buf, pos)
        return Value(kind, int(line)), nxt
    if kind == "_":
        if line:
            raise BadReply(f"null with a payload: {line!r}")
        return Value(kind, None), nxt
    if kind == ",":
        _need(DOUBLE_RE, line, buf, pos)
        return Value(kind, line), nxt
    if kind == "#":
        if line not in (b"t", b"f"):
            raise BadReply(f"bad boolean {line!r}")
        return Value(kind, line == b"t"), nxt
    if kind == "(":
        _need(BIG_RE, line, buf, pos)
        return Value(kind, int(line)), nxt
    _need(INT_RE, line, buf, pos)
    n = int(line)
    if kind in "$!=":
        if n == -1 and kind == "$":
            return Value(kind, None), nxt
        if n < 0:
            raise BadReply(f"negative length {n} for {kind}")
        if len(buf) < nxt + n + 2:
            raise Incomplete
        data = buf[nxt:nxt + n]
        if buf[nxt + n:nxt + n + 2] != b"\r\n":
            raise BadReply(f"bulk of {n} bytes not followed by CRLF at {nxt + n}")
        if kind == "=" and (len(data) < 4 or data[3:4] != b":"):
            raise BadReply(f"verbatim string without a format: {data[:10]!r}")
        return Value(kind, data), nxt + n + 2
    if n == -1 and kind == "*":
        return Value(kind, None), nxt
    if n < 0:
        raise BadReply(f"negative length {n} for {kind}")
    items: list[Any] = []
    count = 2 * n if kind in "%|" else n
    for _ in range(count):
        item, nxt = parse(buf, nxt, resp3, depth + 1)
        items.append(item)
    if kind == "|":  # an attribute: the reply it describes follows
        described, nxt = parse(buf, nxt, resp3, depth + 1)
        return described, nxt
    return Value(kind, items), nxt


def _need(pattern: re.Pattern[bytes], line: bytes, buf: bytes, pos: int) -> None:
    if not pattern.match(line):
        raise BadReply(f"bad number {line!r} at {pos}")


def parse_all(buf: bytes, resp3: bool) -> tuple[list[Value], bytes]:
    """Every complete reply in ``buf`` and the incomplete rest."""
    out: list[Value] = []
    pos = 0
    while pos < len(buf):
        try:
            value, pos2 = parse(buf, pos, resp3)
        except Incomplete:
            break
        out.append(value)
        pos = pos2
    return out, buf[pos:]
