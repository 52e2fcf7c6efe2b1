"""A key's expire time: a register where the longest lifetime wins among concurrent writes.

Every TTL-changing write (EXPIRE and friends, PERSIST, GETEX, SET with or without EX/PX)
stores an absolute time in ms, ``PERSISTENT`` (0) meaning "never". A write removes the entries
it observed, so a causally later write replaces an earlier one (shortening works); concurrent
writes stay side by side and the longest lifetime wins the read, PERSIST beating any EXPIRE.

The register lives beside the key's content, not inside it: an EXPIRE concurrent with a DEL
must survive the DEL exactly as a concurrent SADD would, or regions that saw them in different
orders would disagree once a third write arrives.
"""

from __future__ import annotations

from typing import TypeAlias

from .clock import VV, Tag, covers

PERSISTENT = 0
ExpireEntry: TypeAlias = tuple[int, str, int, int]  # (hlc, region, seq, at_ms)

# What every SET without a TTL writes when peers exist is one "never" entry carrying the tag of
# the assignment it came with. A key stores that case as this marker instead of a list and a
# tuple of its own (``keyspace.Entry`` turns it back into the entry when it is read, and
# before its assignment changes). It is an empty list, so it passes wherever a list of
# entries is expected by type, and ``resolve`` reads it as PERSISTENT; it is never mutated.
OWN_NEVER: list[ExpireEntry] = []


def write(entries: list[ExpireEntry] | None, tag: Tag, at_ms: int, ctx: VV) -> tuple[list[ExpireEntry], bool]:
    """Returns the new entries and whether a concurrent entry remained (a conflict)."""
    if not entries:
        return [(tag[0], tag[1], tag[2], at_ms)], False
    kept = [e for e in entries if not covers(ctx, e)]
    concurrent = bool(kept)
    kept.append((tag[0], tag[1], tag[2], at_ms))
    return kept, concurrent


def remove(entries: list[ExpireEntry] | None, ctx: VV) -> list[ExpireEntry] | None:
    if not entries:
        return None
    kept = [e for e in entries if not covers(ctx, e)]
    return kept or None


def resolve(entries: list[ExpireEntry] | None) -> int:
    """The effective expire time: 0 for none, else the latest of the concurrent times."""
    if not entries:
        return PERSISTENT
    if len(entries) == 1:
        return entries[0][3]
    best = 0
    for e in entries:
        if e[3] == PERSISTENT:
            return PERSISTENT
        if e[3] > best:
            best = e[3]
    return best
