"""A key's entry and a database of entries: the keyspace's memory layout.

A plain string key is the common case and costs one 4-slot object: an ``Entry`` *is* its string
content (``StrValue``). Everything rarer hangs off its ``x`` slot: None, the expire entries
alone (a list, or ``expiry.OWN_NEVER``), or an ``EntryExtra`` holding the string's losing
assignments and contributions, the key's contents of other types and its expire entries.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from . import expiry
from .clock import Tag
from .packing import Packed, pack, region_id, region_name, unpack
from .types import Content
from .types.strings import SEQ_BITS, SEQ_MASK, STRING, Extra, StrValue


class EntryExtra(Extra):
    """An entry's rarer parts: contents of other types (``other``: one content, or a list of
    them when the key was written as several types concurrently) and the expire entries."""

    __slots__ = ("other", "expire")

    def __init__(self, expire: list[expiry.ExpireEntry] | None = None) -> None:
        super().__init__()
        self.other: Any = None
        self.expire = expire


class Entry(StrValue):
    """One key: at most one content per type (usually exactly one) and its expire entries.

    The string content lives in the entry's own slots: ``entry.string`` is the entry itself
    when it holds an assignment or a contribution, else None. ``x`` is None, the expire entries
    alone (a list, or ``expiry.OWN_NEVER`` for the "never" entry written with the winning
    assignment, which ``_pin`` turns back into a list before that assignment changes), or an
    ``EntryExtra``. ``access`` is the server's access statistics of this region (Redis's
    24-bit ``lru`` field: last access time, or LFU counter and time); unset until the server
    first records an access, never replicated nor part of the state."""

    __slots__ = ("access",)
    access: int

    def _extra(self) -> EntryExtra:
        x = self.x
        if x is None or type(x) is list:
            x = self.x = EntryExtra(self._pin() if x is expiry.OWN_NEVER else x)
        elif type(x) is not EntryExtra:  # a packed content alone
            e = self.x = EntryExtra()
            e.other = x
            return e
        return x

    def _unpack(self) -> Any:
        """Unpack the packed content (the only part: ``x`` or ``x.other`` holds it)."""
        x = self.x
        if type(x) is not EntryExtra:
            x = self._extra()
        content = x.other = unpack(x.other)
        return content

    def _own_never(self) -> list[expiry.ExpireEntry]:
        """What the ``OWN_NEVER`` marker stands for."""
        stamp = self.stamp
        return [(stamp >> SEQ_BITS, self.org, stamp & SEQ_MASK, expiry.PERSISTENT)]

    def _pin(self) -> list[expiry.ExpireEntry]:
        """Replace the ``OWN_NEVER`` marker by the entry it stands for."""
        x = self.x = self._own_never()
        return x

    def _will_change(self) -> None:  # (StrValue's hook, called before ``regs`` changes)
        if self.x is expiry.OWN_NEVER:
            self._pin()

    def assign(self, tag: Tag, value: bytes, ctx: dict[str, int]) -> bool:
        if self.x is expiry.OWN_NEVER:  # (``_will_change``) the assignment may change: pin
            self._pin()  # its "never" entry first
        return StrValue.assign(self, tag, value, ctx)

    @property
    def expire(self) -> list[expiry.ExpireEntry] | None:
        x = self.x
        if x is None or type(x) is list:
            return self._own_never() if x is expiry.OWN_NEVER else x
        return x.expire

    @expire.setter
    def expire(self, value: list[expiry.ExpireEntry] | None) -> None:
        x = self.x
        if x is None or type(x) is list:
            self.x = value
        elif type(x) is EntryExtra:
            x.expire = value
        elif value is not None:  # a packed content alone
            self._extra().expire = value

    def is_own_never(self, entries: list[expiry.ExpireEntry] | None) -> bool:
        """True when ``entries`` is exactly the "never" entry of the winning assignment."""
        return (entries is not None and len(entries) == 1 and entries[0][3] == expiry.PERSISTENT
                and self.val is not None and entries[0][1] == self.org
                and entries[0][0] << SEQ_BITS | entries[0][2] == self.stamp)

    # -- contents ----------------------------------------------------------------------------
    def others(self) -> list[Content]:
        """The contents of types other than string (unpacked: see ``crdt.packing``)."""
        x = self.x
        if x is None or type(x) is list or x.other is None:
            return []
        other = x.other
        if type(other) is list:
            return list(other)
        if isinstance(other, Packed):
            other = self._unpack()
        return [other]

    def has_other_types(self) -> bool:
        """True when the entry holds a non-string content (fast: the common entry has none)."""
        x = self.x
        return x is not None and type(x) is not list and x.other is not None

    def part(self, name: str) -> Any:
        """The content of type ``name``, or None."""
        if name == STRING:
            return self.string
        x = self.x
        if x is None or type(x) is list:
            return None
        other = x.other
        if other is None:
            return None
        if type(other) is not list:
            if other.type_name != name:
                return None
            if isinstance(other, Packed):
                other = self._unpack()
            return other
        for c in other:
            if c.type_name == name:
                return c
        return None

    def put(self, content: Content) -> None:
        """Add the content of a type the entry does not hold yet."""
        if content.type_name == STRING:
            self.string = content  # type: ignore[assignment]
            return
        x = self._extra()
        other = x.other
        if other is None:
            x.other = content
        elif type(other) is list:
            other.append(content)
        else:
            x.other = [other, content]

    def drop(self, content: Content) -> None:
        """Remove a content (the entry itself stands for the string content)."""
        if content is self:
            self.string = None
            return
        kept = [c for c in self.others() if c is not content]  # (unpacks: x is an EntryExtra)
        x = self.x
        x.other = None if not kept else kept[0] if len(kept) == 1 else kept

    def parts(self) -> list[Content]:
        """Every content the entry holds, string first."""
        out: list[Content] = [self] if self.val is not None or self.contribs else []
        return out + self.others() if self.has_other_types() else out

    def compact(self) -> None:
        """Drop an ``EntryExtra`` that holds nothing but the expire entries (or nothing), or
        nothing but a packed content."""
        x = self.x
        if type(x) is EntryExtra and x.more is None and not x.contribs:
            other = x.other
            if other is None:
                self.x = x.expire
            elif x.expire is None and isinstance(other, Packed):
                self.x = other

    @property
    def string(self) -> StrValue | None:
        return self if self.val is not None or self.contribs else None

    @string.setter
    def string(self, sv: StrValue | None) -> None:
        if sv is self:
            return
        if sv is None:
            self.val = self.more = self.contribs = None
            return
        self._will_change()
        self.stamp, self.org, self.val = sv.stamp, sv.org, sv.val
        self.more, self.contribs = sv.more, sv.contribs

    @property
    def kind(self) -> str:
        """The visible type as TYPE names it (the entry has content, or it would not be in the
        database); a content may name itself differently (``reply_type``: an HLL is a string)."""
        x = self.x
        if x is None or type(x) is list or x.other is None:
            return STRING
        other = x.other
        if self.val is None and not x.contribs and type(other) is not list:
            # without unpacking a packed content; an HLL is a string (its reply_type)
            return str(getattr(other, "reply_type", other.type_name))
        content = self.content()
        return getattr(content, "reply_type", content.type_name)

    def content(self) -> Any:
        """The visible content object (the entry itself for a string): the only one, or the
        one whose latest write has the greatest tag."""
        x = self.x
        if x is None or type(x) is list:
            return self
        other = x.other
        if other is None:
            return self
        if self.val is None and not x.contribs and type(other) is not list:
            if isinstance(other, Packed):
                other = self._unpack()
            return other
        return max(self.parts(), key=lambda c: c.latest())

    def pack(self) -> bool:
        """Pack the entry's content if it is its only one and a small collection (between
        commands only: see ``crdt.packing``); True when it was packed."""
        x = self.x
        if type(x) is not EntryExtra or self.val is not None or x.contribs:
            return False
        other = x.other
        if other is None or type(other) is list or isinstance(other, Packed):
            return False
        packed = pack(other)
        if packed is None:
            return False
        if x.expire is None and x.more is None:
            self.x = packed  # no EntryExtra for a packed content alone
        else:
            x.other = packed
        return True

    def expire_at(self) -> int:
        x = self.x
        return expiry.resolve(x if x is None or type(x) is list else x.expire)  # OWN_NEVER: 0


# A cold plain string (``freeze``): its value followed by this many bytes, the winning
# assignment's stamp (16, little-endian) then 6 of metadata: the access field (24 bits), the
# region's ``region_id`` (16) and flags (8: ``OWN_NEVER``, access set).
COLD_TRAILER = 22
_COLD = struct.Struct("<QQIH")  # the trailer: seq, hlc, then the metadata's low 32 and high 16 bits
_COLD_OWN_NEVER, _COLD_ACCESS = 1 << 40, 2 << 40


def freeze(entry: Entry) -> bytes | None:
    """The cold form of a plain string entry — one assignment, no contributions, no other
    type, no expire entries beyond ``OWN_NEVER`` — as one bytes object (64 bytes for a short
    value, against about 176 for the entry, its value and its stamp), or None when the entry
    is anything else. ``thaw`` gives back an equal entry."""
    x = entry.x
    val = entry.val
    if val is None or type(val) is not bytes or (x is not None and x is not expiry.OWN_NEVER):
        return None
    stamp = entry.stamp
    org = region_id(entry.org)
    if stamp >> 128 or org > 0xFFFF:
        return None
    meta = org << 24 | (_COLD_OWN_NEVER if x is expiry.OWN_NEVER else 0)
    try:
        access = entry.access
    except AttributeError:
        pass
    else:
        if access >> 24:
            return None
        meta |= access | _COLD_ACCESS
    return val + _COLD.pack(stamp & SEQ_MASK, stamp >> SEQ_BITS, meta & 0xFFFFFFFF, meta >> 32)


def thaw(cold: bytes) -> Entry:
    """The entry a cold string (``freeze``) stands for, as a new object."""
    n = len(cold) - COLD_TRAILER
    seq, hlc, lo, hi = _COLD.unpack_from(cold, n)
    entry = Entry()
    entry.val = cold[:n]
    entry.stamp = hlc << SEQ_BITS | seq
    meta = hi << 32 | lo
    entry.org = region_name(meta >> 24 & 0xFFFF)
    if meta & _COLD_OWN_NEVER:
        entry.x = expiry.OWN_NEVER
    if meta & _COLD_ACCESS:
        entry.access = meta & 0xFFFFFF
    return entry


class Database:
    """A database's keys. ``entries`` maps a key to its ``Entry``, or to its cold form
    (``freeze``: a plain string not written for a while, packed by the sweep): so code reads
    them through ``find`` (the stored entry, thawed in place first when cold: to write it or
    touch it), ``peek`` and ``items`` (read-only: a cold key's entry is a new object each time,
    not stored) — never through ``entries`` but to test membership, count or list keys."""

    __slots__ = ("entries", "expires", "orphan_expiry", "generation", "gc_pending")

    def __init__(self) -> None:
        self.entries: dict[bytes, Entry | bytes] = {}  # keys with content (bytes: cold)
        self.expires: dict[bytes, int] = {}  # keys with content and a finite expire time
        self.orphan_expiry: dict[bytes, list[expiry.ExpireEntry]] = {}
        self.generation = 0  # bumped when a key appears or disappears (SCAN caches)
        # Keys holding metadata that can go once every region has observed it ("never"
        # expire entries, expire registers without content), oldest first: see ``collect``.
        self.gc_pending: dict[bytes, None] = {}

    def get(self, key: bytes, now_ms: int) -> Entry | None:
        """The visible entry (stored: thawed when cold), or None when absent or expired."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        if type(entry) is not Entry:  # cold: no expire time
            thawed = self.entries[key] = thaw(entry)  # type: ignore[arg-type]
            return thawed
        if entry.x is not None:  # it may have expire entries
            at = self.expires.get(key)
            if at is not None and at <= now_ms:
                return None
        return entry

    def find(self, key: bytes) -> Entry | None:
        """The stored entry of ``key`` (thawed in place when cold), or None: for whatever
        changes the entry (writes, access statistics)."""
        entry = self.entries.get(key)
        if entry is None or type(entry) is Entry:
            return entry
        thawed = self.entries[key] = thaw(entry)  # type: ignore[arg-type]
        return thawed

    def peek(self, key: bytes) -> Entry | None:
        """The entry of ``key`` to read only, or None: a cold key's is decoded, not stored."""
        entry = self.entries.get(key)
        if entry is None or type(entry) is Entry:
            return entry
        return thaw(entry)  # type: ignore[arg-type]

    def items(self) -> Iterator[tuple[bytes, Entry]]:
        """Every key and its entry, to read only (``peek``)."""
        for key, entry in self.entries.items():
            yield key, entry if type(entry) is Entry else thaw(entry)  # type: ignore[arg-type]

    def exists(self, key: bytes, now_ms: int) -> bool:
        """``get(key, now_ms) is not None`` without thawing a cold key."""
        entry = self.entries.get(key)
        if entry is None:
            return False
        if type(entry) is Entry and entry.x is not None:
            at = self.expires.get(key)
            return at is None or at > now_ms
        return True

    def pack_key(self, key: bytes) -> bool:
        """Pack the key's content at rest: a small collection in its entry (``Entry.pack``),
        a plain string as its cold form (``freeze``). True when it was packed."""
        entry = self.entries.get(key)
        if entry is None or type(entry) is not Entry:
            return False
        if entry.val is not None:
            cold = freeze(entry)
            if cold is None:
                return False
            self.entries[key] = cold
            return True
        return entry.pack()

    def is_expired(self, key: bytes, now_ms: int) -> bool:
        at = self.expires.get(key)
        return at is not None and at <= now_ms

    def visible_count(self, now_ms: int) -> int:
        expired = sum(1 for at in self.expires.values() if at <= now_ms)
        return len(self.entries) - expired
