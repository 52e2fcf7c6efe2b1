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
DOUBLE_RE = re.compile(rb"(-?inf|nan|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)\Z")


class BadReply(Exception):
    """The bytes are not a valid RESP reply."""


class Value(NamedTuple):
    type: str
    value: Any


class Incomplete(Exception):
    """More bytes are needed."""


def parse(buf: bytes, pos: int, resp3: bool, depth: int = 0) -> tuple[Value, int]:
    """One reply starting at ``buf[pos]``: ``(value, next position)``. Raises ``Incomplete``
    when the buffer ends first, ``BadReply`` when the bytes are not RESP.

    Written for speed (a fuzzed call can be answered with hundreds of thousands of elements,
    which must be checked within the fuzzer's reply timeout): type bytes compared as ints,
    numbers checked with ``bytes.isdigit`` (ASCII only, as ``[0-9]``), the bulk strings of an
    aggregate read in its own loop."""
    if depth > 64:
        raise BadReply("nesting deeper than 64")
    if pos >= len(buf):
        raise Incomplete
    end = buf.find(b"\r\n", pos)
    if end < 0:
        if b"\n" in buf[pos:] or b"\r" in buf[pos:-1]:
            raise BadReply(f"bare CR or LF in a line at {pos}: {buf[pos:pos + 60]!r}")
        raise Incomplete
    t = buf[pos]
    line = buf[pos + 1:end]
    nxt = end + 2
    if t not in (_ALLOWED3 if resp3 else _ALLOWED2) or b"\n" in line or b"\r" in line:
        raise BadReply(f"bad reply line at {pos} (resp3={resp3}): {buf[pos:end + 2][:80]!r}")
    kind = _KIND[t]
    if t in _SIMPLE:
        return Value(kind, line), nxt
    if t == _COLON or t == _LPAREN:
        return Value(kind, _integer(line, pos)), nxt
    if t == _UNDERSCORE:
        if line:
            raise BadReply(f"null with a payload: {line!r}")
        return Value(kind, None), nxt
    if t == _COMMA:
        _need(DOUBLE_RE, line, buf, pos)
        return Value(kind, line), nxt
    if t == _HASH:
        if line not in (b"t", b"f"):
            raise BadReply(f"bad boolean {line!r}")
        return Value(kind, line == b"t"), nxt
    n = _integer(line, pos)
    if t in _BULKS:
        if n == -1 and t == _DOLLAR:
            return Value(kind, None), nxt
        if n < 0:
            raise BadReply(f"negative length {n} for {kind}")
        if len(buf) < nxt + n + 2:
            raise Incomplete
        data = buf[nxt:nxt + n]
        if buf[nxt + n:nxt + n + 2] != b"\r\n":
            raise BadReply(f"bulk of {n} bytes not followed by CRLF at {nxt + n}")
        if t == _EQUALS and (len(data) < 4 or data[3:4] != b":"):
            raise BadReply(f"verbatim string without a format: {data[:10]!r}")
        return Value(kind, data), nxt + n + 2
    if n == -1 and t == _STAR:
        return Value(kind, None), nxt
    if n < 0:
        raise BadReply(f"negative length {n} for {kind}")
    items: list[Any] = []
    append = items.append
    size = len(buf)
    inline = depth < 64  # (a bulk string one level deeper than that is refused by parse)
    for _ in range(2 * n if t == _PERCENT or t == _PIPE else n):
        # a plain bulk string (most elements of a long reply) is read here, checked as above
        if inline and nxt < size and buf[nxt] == _DOLLAR:
            end = buf.find(b"\r\n", nxt)
            line = buf[nxt + 1:end]
            if end > 0 and line.isdigit():
                start = end + 2
                stop = start + int(line)
                if stop + 2 > size:
                    raise Incomplete
                if buf[stop:stop + 2] != b"\r\n":
                    raise BadReply(f"bulk of {stop - start} bytes not followed by CRLF at {stop}")
                append(Value("$", buf[start:stop]))
                nxt = stop + 2
                continue
        item, nxt = parse(buf, nxt, resp3, depth + 1)
        append(item)
    if t == _PIPE:  # an attribute: the reply it describes follows
        described, nxt = parse(buf, nxt, resp3, depth + 1)
        return described, nxt
    return Value(kind, items), nxt


_ALLOWED2 = frozenset(RESP2_TYPES)
_ALLOWED3 = frozenset(RESP3_TYPES)
_KIND = {t: chr(t) for t in RESP3_TYPES}
_SIMPLE = frozenset(b"+-")
_BULKS = frozenset(b"$!=")
(_COLON, _LPAREN, _UNDERSCORE, _COMMA, _HASH, _DOLLAR, _EQUALS, _STAR, _PERCENT, _PIPE) = b":(_,#$=*%|"


def _integer(line: bytes, pos: int) -> int:
    """``line`` as ``-?[0-9]+``, or BadReply."""
    if line.isdigit() or (line[:1] == b"-" and line[1:].isdigit()):
        return int(line)
    raise BadReply(f"bad number {line!r} at {pos}")


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
