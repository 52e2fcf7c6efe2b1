"""Redis's CRC-64 (src/crc64.c): the Jones polynomial 0xad93d23594c935a9, reflected, initial
value 0, no final xor. crc64(b"123456789") == 0xe9c6d914c4b8d9ca, as Redis's own self-test.

crcmod (crcmod-plus, maintained, with a C extension) computes it at C speed: a DUMP of a large
value is checksummed in milliseconds instead of seconds of a pure-Python table loop.
"""

from __future__ import annotations

from collections.abc import Callable

import crcmod

crc64: Callable[[bytes], int] = crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True, xorOut=0)
