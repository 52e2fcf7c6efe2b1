"""Redis's intset (src/intset.c): encoding width (2, 4 or 8 bytes), length, then the members
ascending, little endian; the width is the smallest that holds every member."""

from __future__ import annotations

import struct

from server.rdb.listpack import FormatError

_FORMATS = {2: "h", 4: "i", 8: "q"}


def encode(values: list[int]) -> bytes:
    values = sorted(values)
    lo, hi = (values[0], values[-1]) if values else (0, 0)
    if -(1 << 15) <= lo and hi < (1 << 15):
        width = 2
    elif -(1 << 31) <= lo and hi < (1 << 31):
        width = 4
    else:
        width = 8
    return struct.pack(f"<II{len(values)}{_FORMATS[width]}", width, len(values), *values)


def decode(blob: bytes) -> list[int]:
    """The members, validated (width, size, strictly ascending: intsetValidateIntegrity)."""
    if len(blob) < 8:
        raise FormatError("intset too short")
    width, n = struct.unpack_from("<II", blob, 0)
    fmt = _FORMATS.get(width)
    if fmt is None or len(blob) != 8 + width * n:
        raise FormatError("bad intset header")
    values = list(struct.unpack_from(f"<{n}{fmt}", blob, 8))
    if any(a >= b for a, b in zip(values, values[1:], strict=False)):
        raise FormatError("intset not sorted or with duplicates")
    return values
