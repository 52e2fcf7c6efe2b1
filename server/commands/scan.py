"""Cursor iteration for SCAN, SSCAN and HSCAN.

Redis's cursor walks its hash table in reverse-binary order, which guarantees that an element
present for the whole iteration is returned at least once, however the table changes between
calls. We get the same guarantee from a fixed order: elements sorted by a 63-bit hash of their
name; the cursor is the hash of the next element to return. An element that stays in the
collection keeps its hash, so the walk cannot skip it. Small collections are returned whole
with cursor 0, as Redis does for its compact encodings.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection
from typing import Any

import xxhash

from server import errors
from server.commands.common import int_arg
from server.glob import matches
from server.resp import Error

SMALL = 128
_cache: dict[int, tuple[Any, int, list[int], list[bytes]]] = {}


def _position(name: bytes) -> int:
    return (xxhash.xxh3_64_intdigest(name) >> 1) + 1


def parse_cursor(arg: bytes) -> int:
    """Redis's parseScanCursorOrReply: strtoul, base 10, no leading space, the whole
    argument consumed. Like strtoul it takes a sign ("-1" is 2**64-1) and reads "" as 0; it
    reads the argument as a C string, which a NUL byte ends ("5\\0x" is 5)."""
    text = arg.split(b"\0", 1)[0]
    negative = text[:1] == b"-"
    if text[:1] in (b"-", b"+"):
        text = text[1:]
        if not text:
            raise Error(errors.INVALID_CURSOR)
    if text and not (text.isdigit() and text.isascii()):
        raise Error(errors.INVALID_CURSOR)
    cursor = int(text) if text else 0
    if cursor >= 1 << 64:
        raise Error(errors.INVALID_CURSOR)
    return (-cursor) % (1 << 64) if negative else cursor


class ScanArgs:
    def __init__(self, argv: list[bytes], start: int, allow_type: bool) -> None:
        self.count = 10
        self.pattern: bytes | None = None
        self.type: bytes | None = None
        i = start
        while i < len(argv):
            opt = argv[i].lower()
            if opt == b"count" and i + 1 < len(argv):
                self.count = int_arg(argv[i + 1])
                if self.count < 1:
                    raise Error(errors.SYNTAX)
            elif opt == b"match" and i + 1 < len(argv):
                pattern = argv[i + 1]
                self.pattern = None if pattern == b"*" else pattern
            elif opt == b"type" and allow_type and i + 1 < len(argv):
                self.type = argv[i + 1]
            else:
                raise Error(errors.SYNTAX)
            i += 2

    def accepts(self, name: bytes) -> bool:
        return self.pattern is None or matches(self.pattern, name, False)


def scan(
    names: Collection[bytes], cursor: int, count: int, cache_id: int | None = None,
    generation: int = 0, keep: Callable[[bytes], bool] | None = None,
) -> tuple[int, list[bytes]]:
    """One step of the walk: (next cursor, names). ``keep`` filters what is returned
    (MATCH, TYPE, expired keys) after the step is taken, as Redis filters after sampling."""
    if len(names) <= SMALL and cursor == 0:
        out = list(names)
        return 0, [n for n in out if keep is None or keep(n)]
    positions, ordered = _ordered(names, cache_id, generation)
    i = bisect_left(positions, cursor)
    j = min(len(ordered), i + count)
    while j < len(ordered) and positions[j] == positions[j - 1]:
        j += 1  # never split elements sharing a position across two calls
    step = ordered[i:j]
    next_cursor = positions[j] if j < len(ordered) else 0
    return next_cursor, [n for n in step if keep is None or keep(n)]


def _ordered(names: Collection[bytes], cache_id: int | None, generation: int) -> tuple[list[int], list[bytes]]:
    if cache_id is not None:
        hit = _cache.get(cache_id)
        if hit is not None and hit[0] is names and hit[1] == generation:
            return hit[2], hit[3]
    pairs = sorted((_position(n), n) for n in names)
    positions = [p for p, _ in pairs]
    ordered = [n for _, n in pairs]
    if cache_id is not None:
        _cache[cache_id] = (names, generation, positions, ordered)
    return positions, ordered


def scan_collection(argv: list[bytes], names: Collection[bytes],
                    compact: bool | None = None) -> tuple[bytes, list[bytes]]:
    """SSCAN/HSCAN key cursor [MATCH p] [COUNT n]: one step over a set's members or a hash's
    fields (the caller looked the key up and checked its type). ``compact``: the value is in
    a compact encoding (intset, listpack), which Redis returns whole; None: up to SMALL."""
    cursor = parse_cursor(argv[2])
    args = ScanArgs(argv, 3, allow_type=False)
    if compact:
        return b"0", [n for n in names if args.accepts(n)]
    if compact is None and len(names) <= SMALL:
        cursor = 0  # a compact encoding in Redis: returned whole, whatever the cursor
    next_cursor, step = scan(names, cursor, args.count, keep=args.accepts)
    return b"%d" % next_cursor, step
