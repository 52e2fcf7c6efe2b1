"""Reply values and their RESP2/RESP3 encoding.

Handlers return plain Python values; one encoder turns them into bytes for the protocol
version of the connection (Redis's `addReply*` family, as data):

| value                     | RESP2                         | RESP3              |
|---------------------------|-------------------------------|--------------------|
| ``bytes`` / ``str``       | bulk string                   | bulk string        |
| ``int``                   | integer                       | integer            |
| ``bool``                  | integer 1/0                   | boolean            |
| ``float``                 | bulk string (Redis's %.17g)   | double             |
| ``None``                  | null bulk ``$-1``             | null ``_``         |
| ``NULL_ARRAY``            | null array ``*-1``            | null ``_``         |
| ``list`` / ``tuple``      | array                         | array              |
| ``Map``                   | flat array of key, value      | map                |
| ``RSet``                  | array                         | set                |
| ``Status``                | simple string                 | simple string      |
| ``Error``                 | error                         | error              |
| ``Verbatim``              | bulk string                   | verbatim string    |
| ``Push``                  | array                         | push               |
| ``Raw``                   | bytes written as they are     | same               |
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from mypy_extensions import mypyc_attr


@mypyc_attr(native_class=False)  # a builtin subclass: a Python class under mypyc
class Status(str):
    """A simple string reply (``+OK``)."""

    __slots__ = ()


@mypyc_attr(allow_interpreted_subclasses=True)  # ConfigSetError
class Error(Exception):
    """An error reply. Raised by handlers or returned as a value (inside EXEC)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"Error({self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Error) and other.message == self.message

    def __hash__(self) -> int:
        return hash(self.message)


class Map:
    """A map reply; ``items`` keeps the order given."""

    __slots__ = ("items",)

    def __init__(self, items: dict[Any, Any] | Iterable[tuple[Any, Any]]) -> None:
        self.items: list[tuple[Any, Any]] = list(items.items() if isinstance(items, dict) else items)

    def __repr__(self) -> str:
        return f"Map({self.items!r})"


class RSet:
    """A set reply (RESP3 ``~``), an array in RESP2."""

    __slots__ = ("members",)

    def __init__(self, members: Iterable[Any]) -> None:
        self.members = list(members)


class Verbatim:
    """A verbatim string (RESP3 ``=``), a bulk string in RESP2."""

    __slots__ = ("text", "fmt")

    def __init__(self, text: str | bytes, fmt: str = "txt") -> None:
        self.text = text.encode() if isinstance(text, str) else text
        self.fmt = fmt


class Push:
    """An out-of-band push message (RESP3 ``>``), an array in RESP2."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = list(items)


class Raw:
    """Pre-encoded protocol bytes, written unchanged."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class RawPush(Raw):
    """Pre-encoded out-of-band output a command replies with (a pub/sub (un)subscribe
    confirmation): written even under CLIENT REPLY OFF / SKIP, as Redis's CLIENT_PUSHING."""

    __slots__ = ()


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


class _NoReply:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_REPLY"


NULL_ARRAY = _NullArray()
NO_REPLY = _NoReply()  # a handler's return value when nothing is to be sent (SHUTDOWN)
OK = Status("OK")
QUEUED = Status("QUEUED")
PONG = Status("PONG")


# Pre-encoded pieces of the most common replies (no formatting, no allocation per reply).
CRLF = b"\r\n"
OK_REPLY = b"+OK\r\n"
_SMALL = 1024
_BULK_HEADERS = [b"$%d\r\n" % n for n in range(_SMALL)]
BULK_HEADERS = _BULK_HEADERS  # (for replies built elsewhere: LRANGE's)
_INTEGERS = [b":%d\r\n" % n for n in range(_SMALL)]


def bulk_header(n: int) -> bytes:
    """``$<n>\r\n``: the header of a bulk string of ``n`` bytes."""
    return _BULK_HEADERS[n] if n < _SMALL else b"$%d\r\n" % n


def integer_reply(n: int) -> bytes:
    """``:<n>\r\n``."""
    return _INTEGERS[n] if 0 <= n < _SMALL else b":%d\r\n" % n


def format_double(value: float) -> bytes:
    """Format a double as Redis's addReplyDouble does (``%.17g``, inf/-inf/nan)."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if math.isnan(value):
        return b"nan"
    text = "%.17g" % value
    return text.encode()


def _encode_double_resp2(value: float) -> bytes:
    text = format_double(value)
    return b"$%d\r\n%s\r\n" % (len(text), text)


def encode(value: Any, out: bytearray, resp3: bool) -> None:
    """Append the RESP encoding of ``value`` to ``out``."""
    t = type(value)
    if t is bytes:
        out += bulk_header(len(value))
        out += value
        out += CRLF
    elif t is Status:
        out += OK_REPLY if value is OK else b"+%s\r\n" % value.encode()
    elif t is int:
        out += integer_reply(value)
    elif value is None:
        out += b"_\r\n" if resp3 else b"$-1\r\n"
    elif t is list or t is tuple:
        out += b"*%d\r\n" % len(value)
        for item in value:
            if type(item) is bytes:  # (most arrays: of bulk strings, no call per element)
                n = len(item)
                out += _BULK_HEADERS[n] if n < _SMALL else b"$%d\r\n" % n
                out += item
                out += CRLF
            else:
                encode(item, out, resp3)
    elif t is str:
        data = value.encode()
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    elif t is bool:
        if resp3:
            out += b"#t\r\n" if value else b"#f\r\n"
        else:
            out += b":1\r\n" if value else b":0\r\n"
    elif t is float:
        if resp3:
            out += b",%s\r\n" % format_double(value)
        else:
            out += _encode_double_resp2(value)
    elif isinstance(value, Error):
        message = value.message.replace("\r", " ").replace("\n", " ")
        out += b"-%s\r\n" % message.encode("utf-8", "surrogateescape")  # raw bytes, as Redis
    elif t is Map:
        if resp3:
            out += b"%%%d\r\n" % len(value.items)
        else:
            out += b"*%d\r\n" % (2 * len(value.items))
        for k, v in value.items:
            encode(k, out, resp3)
            encode(v, out, resp3)
    elif t is RSet:
        out += (b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value.members)
        for item in value.members:
            encode(item, out, resp3)
    elif value is NULL_ARRAY:
        out += b"_\r\n" if resp3 else b"*-1\r\n"
    elif t is Verbatim:
        if resp3:
            out += b"=%d\r\n%s:%s\r\n" % (len(value.text) + 4, value.fmt.encode(), value.text)
        else:
            out += b"$%d\r\n%s\r\n" % (len(value.text), value.text)
    elif t is Push:
        out += (b">%d\r\n" if resp3 else b"*%d\r\n") % len(value.items)
        for item in value.items:
            encode(item, out, resp3)
    elif t is Raw or t is RawPush:
        out += value.data
    elif isinstance(value, (bytearray, memoryview)):
        data = bytes(value)
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    elif isinstance(value, str):
        encode(str(value), out, resp3)
    elif isinstance(value, int):
        encode(int(value), out, resp3)
    else:
        raise TypeError(f"cannot encode reply value {value!r}")


def encode_one(value: Any, resp3: bool = False) -> bytes:
    out = bytearray()
    encode(value, out, resp3)
    return bytes(out)
