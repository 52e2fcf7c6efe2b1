"""Redis's older compact encodings, read only (a DUMP from Redis before 7.0 carries them):
the ziplist (src/ziplist.c) and the zipmap (src/zipmap.c, before Redis 2.6)."""

from __future__ import annotations

import struct

from server.rdb.listpack import FormatError

_HEADER = 10


def decode(zl: bytes) -> list[bytes]:
    """The entries of a ziplist (zlbytes, zltail, zllen, entries, 0xFF), validated."""
    n = len(zl)
    if n < _HEADER + 1:
        raise FormatError("ziplist too short")
    total, tail, count = struct.unpack_from("<IIH", zl, 0)
    if total != n or zl[-1] != 0xFF or tail >= n:
        raise FormatError("bad ziplist header")
    out: list[bytes] = []
    pos = _HEADER
    prev_size = 0
    last = _HEADER
    while zl[pos] != 0xFF:
        start = pos
        if zl[pos] < 254:
            prevlen = zl[pos]
            pos += 1
        else:
            if pos + 5 > n:
                raise FormatError("truncated prevlen")
            prevlen = struct.unpack_from("<I", zl, pos + 1)[0]
            pos += 5
        if prevlen != prev_size:
            raise FormatError("bad prevlen")
        if pos >= n:
            raise FormatError("truncated entry")
        b = zl[pos]
        kind = b >> 6
        if kind == 0:
            size, pos = b & 0x3F, pos + 1
        elif kind == 1:
            if pos + 2 > n:
                raise FormatError("truncated entry")
            size, pos = ((b & 0x3F) << 8) | zl[pos + 1], pos + 2
        elif kind == 2:
            if pos + 5 > n:
                raise FormatError("truncated entry")
            size, pos = struct.unpack_from(">I", zl, pos + 1)[0], pos + 5
        else:
            size = -1
            pos += 1
        if size >= 0:
            value = zl[pos : pos + size]
            pos += size
        else:
            if b == 0xC0:
                fmt = "<h"
            elif b == 0xD0:
                fmt = "<i"
            elif b == 0xE0:
                fmt = "<q"
            elif b == 0xFE:
                fmt = "<b"
            elif b == 0xF0:
                fmt = ""
            elif 0xF1 <= b <= 0xFD:
                value = b"%d" % ((b & 0x0F) - 1)
                fmt = "imm"
            else:
                raise FormatError("bad ziplist encoding")
            if fmt == "":
                if pos + 3 > n:
                    raise FormatError("truncated entry")
                u = int.from_bytes(zl[pos : pos + 3], "little")
                value = b"%d" % (u - (1 << 24) if u & 0x800000 else u)
                pos += 3
            elif fmt != "imm":
                width = struct.calcsize(fmt)
                if pos + width > n:
                    raise FormatError("truncated entry")
                value = b"%d" % struct.unpack_from(fmt, zl, pos)[0]
                pos += width
        if pos >= n:
            raise FormatError("entry runs past the end")
        out.append(value)
        prev_size = pos - start
        last = start
    if pos != n - 1 or (out and last != tail) or (count != 0xFFFF and count != len(out)):
        raise FormatError("ziplist size, tail or count mismatch")
    return out


def decode_zipmap(zm: bytes) -> list[bytes]:
    """A zipmap (zmlen, then len key len free value [free bytes]..., 0xFF) as field, value,
    field, value..., validated as zipmapValidateIntegrity (deep: Redis always converts it)."""
    out: list[bytes] = []
    n = len(zm)
    pos = 1
    if n < 2:
        raise FormatError("zipmap too short")

    def length() -> int:
        nonlocal pos
        if pos >= n:
            raise FormatError("truncated zipmap")
        b = zm[pos]
        if b < 254:
            pos += 1
            return b
        if pos + 5 <= n:  # 254 (ZIPMAP_BIGLEN) or 255: a 4-byte length follows
            pos += 5
            return int(struct.unpack_from("<I", zm, pos - 4)[0])
        raise FormatError("bad zipmap length")

    while True:
        if pos >= n:
            raise FormatError("zipmap without terminator")
        if zm[pos] == 0xFF:
            break
        klen = length()
        key = zm[pos : pos + klen]
        pos += klen
        vlen = length()
        if pos >= n:
            raise FormatError("truncated zipmap")
        free = zm[pos]
        pos += 1
        value = zm[pos : pos + vlen]
        pos += vlen + free
        if pos > n or len(key) != klen or len(value) != vlen:
            raise FormatError("truncated zipmap")
        out += (key, value)
    if pos != n - 1:
        raise FormatError("zipmap trailing bytes")
    if zm[0] != 254 and zm[0] != len(out) // 2:  # zipmapValidateIntegrity: the header's count
        raise FormatError("zipmap count mismatch")
    return out
