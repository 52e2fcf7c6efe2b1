"""rdb.c's primitives: lengths, strings (raw, integer-encoded, LZF) and doubles.

``save_string`` is rdbSaveRawString with rdbcompression yes: a canonical integer of up to 11
characters that fits 32 bits is stored as an integer, a string over 20 bytes (up to
``LZF_MAX``) as LZF when that is smaller, anything else as length + bytes. ``Reader`` reads them back, raising
``FormatError`` on anything malformed (never an IndexError from a truncated payload).
"""

from __future__ import annotations

import struct
import zlib

from crdt.numbers import parse_int
from server.rdb import lzf
from server.rdb.listpack import FormatError

ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0, 1, 2, 3
LENERR = (1 << 64) - 1  # rdb.h RDB_LENERR: what rdbLoadLen returns for an unknown length type
# Longer strings are stored uncompressed (as Redis with rdbcompression no): compressing them
# in Python would stall the server for seconds. Quicklist nodes, listpacks and intsets are
# always below this, so only large strings differ from Redis's bytes.
LZF_MAX = 64 * 1024


def save_len(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([(n >> 8) | 0x40, n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def _int_encoding(s: bytes) -> bytes | None:
    """rdbTryIntegerEncoding: the string is exactly its integer's decimal form and fits 32
    bits."""
    v = parse_int(s)
    if v is None:
        return None
    if -(1 << 7) <= v < 1 << 7:
        return bytes([0xC0 | ENC_INT8]) + struct.pack("<b", v)
    if -(1 << 15) <= v < 1 << 15:
        return bytes([0xC0 | ENC_INT16]) + struct.pack("<h", v)
    if -(1 << 31) <= v < 1 << 31:
        return bytes([0xC0 | ENC_INT32]) + struct.pack("<i", v)
    return None


def _incompressible(s: bytes) -> bool:
    """A quick test before the (pure-Python, ~2 s/MB) LZF pass: data that deflate at its
    fastest level cannot shrink, LZF (no entropy coding, a 1-byte header per 32 literals)
    cannot shrink either, so Redis stores it raw too."""
    return len(s) > 4096 and len(zlib.compress(s, 1)) >= len(s) - 4


def save_string(s: bytes, compress: bool = True) -> bytes:
    n = len(s)
    if n <= 11:
        enc = _int_encoding(s)
        if enc is not None:
            return enc
    if compress and 20 < n <= LZF_MAX and not _incompressible(s):
        packed = lzf.compress(s, n - 4)
        if packed is not None:
            return bytes([0xC0 | ENC_LZF]) + save_len(len(packed)) + save_len(n) + packed
    return save_len(n) + s


def save_binary_double(value: float) -> bytes:
    return struct.pack("<d", value)


class Reader:
    """Reads one serialized object from a payload."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise FormatError("truncated payload")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def length_or_encoding(self) -> tuple[int, bool]:
        """rdbLoadLenByRef: (length, False), or (special encoding, True). An unknown length
        type (0x82-0xBF) is RDB_LENERR, 2^64 - 1, as Redis reads it: where Redis checks for it
        (counts, string lengths) that length runs past the payload here, where it does not (a
        stream's IDs, a pending entry's delivery count) the value is kept."""
        b = self.byte()
        kind = b >> 6
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return b & 0x3F, True
        if b == 0x80:
            return int(struct.unpack(">I", self.take(4))[0]), False
        if b == 0x81:
            return int(struct.unpack(">Q", self.take(8))[0]), False
        return LENERR, False

    def length(self) -> int:
        """rdbLoadLen(rdb, NULL): an encoded-value byte (0xC0-0xFF) is read as its low 6 bits."""
        return self.length_or_encoding()[0]

    def string(self) -> bytes:
        n, special = self.length_or_encoding()
        if not special:
            return self.take(n)
        if n == ENC_INT8:
            return b"%d" % struct.unpack("<b", self.take(1))[0]
        if n == ENC_INT16:
            return b"%d" % struct.unpack("<h", self.take(2))[0]
        if n == ENC_INT32:
            return b"%d" % struct.unpack("<i", self.take(4))[0]
        if n == ENC_LZF:
            clen = self.length()
            size = self.length()
            try:
                return lzf.decompress(self.take(clen), size)
            except lzf.LzfError as e:
                raise FormatError(str(e)) from None
        raise FormatError("unknown string encoding")

    def binary_double(self) -> float:
        return float(struct.unpack("<d", self.take(8))[0])
