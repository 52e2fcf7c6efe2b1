"""Consumer groups of a stream: replicated terms and acknowledgements, and this region's local
state (pending entries, consumers, last-delivered ID). See ``stream.py`` for the semantics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

from sortedcontainers import SortedDict

from crdt.clock import VV, Tag

SID: TypeAlias = tuple[int, int]  # (ms, seq)
EKey: TypeAlias = tuple[int, int, int, str, int, int]  # (ms, seq, hlc, region, tseq, sub)
GroupTerm: TypeAlias = tuple[int, str, int, int, int, int, int]  # (..., ms, idseq, entries_read, kind)
AckTerm: TypeAlias = tuple[int, int, str, int]  # (ms, seq, region, dot seq)
SET_TERM, DESTROY_TERM = 0, 1
# XLocal operations: set a pending entry, drop one, create or see a consumer, delete one, set
# the last-delivered ID and entries-read, a late entry delivered
LOCAL_NACK, LOCAL_UNNACK, LOCAL_CONSUMER, LOCAL_DELCONSUMER, LOCAL_LAST, LOCAL_UNLATE = range(6)

ZERO: SID = (0, 0)
NO_ENTRIES_READ = -1  # Redis's SCG_INVALID_ENTRIES_READ


class Nack:
    """A pending entry: its consumer, last delivery time and delivery count (local)."""

    __slots__ = ("consumer", "delivery_time", "delivery_count")

    def __init__(self, consumer: bytes, delivery_time: int, delivery_count: int) -> None:
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class Consumer:
    __slots__ = ("seen_time", "pel")

    def __init__(self, seen_time: int) -> None:
        self.seen_time = seen_time
        self.pel: SortedDict = SortedDict()  # SID -> Nack (shared with the group's)


class Group:
    __slots__ = ("regs", "acks", "acked", "last_local", "read_local", "pel", "consumers", "journal", "late")

    def __init__(self) -> None:
        self.regs: list[GroupTerm] = []
        self.acks: set[AckTerm] = set()
        self.acked: set[SID] = set()  # the IDs in ``acks``
        # local: this region's last delivered ID and entries-read, once it read (None: the
        # register's), the pending entries and the consumers
        self.last_local: SID | None = None
        self.read_local = NO_ENTRIES_READ
        self.pel: SortedDict = SortedDict()
        self.consumers: dict[bytes, Consumer] = {}
        # the local changes made by commands since they were last emitted (``XLocal``)
        self.journal: list[tuple[Any, ...]] = []
        # entries that arrived from another region with an ID this region had already delivered
        # past: ``>`` delivers them first (SEMANTICS: XREADGROUP is the reliable way to consume)
        self.late: set[SID] = set()

    @property
    def live(self) -> bool:
        """The group exists: it holds a set term and no destroy term."""
        return bool(self.regs) and all(t[6] == SET_TERM for t in self.regs)

    def is_empty(self) -> bool:
        return not self.regs and not self.acks

    @property
    def last_id(self) -> SID:
        if self.last_local is not None:
            return self.last_local
        r = self.regs[-1]
        return (r[3], r[4])

    @property
    def entries_read(self) -> int:
        return self.read_local if self.last_local is not None else self.regs[-1][5]

    # -- local state: every change a command makes goes through these, which journal it as an
    # absolute value (see XLocal) -----------------------------------------------------------
    def set_local(self, last: SID, entries_read: int) -> None:
        self._set_last(last, entries_read)
        self.journal.append((LOCAL_LAST, last[0], last[1], entries_read))

    def set_nack(self, sid: SID, consumer: bytes, time: int, count: int) -> None:
        self._set_nack(sid, consumer, time, count)
        self.journal.append((LOCAL_NACK, sid[0], sid[1], consumer, time, count))

    def drop_nack(self, sid: SID) -> None:
        self._drop_nack(sid)
        self.journal.append((LOCAL_UNNACK, sid[0], sid[1]))

    def touch(self, name: bytes, seen_time: int) -> Consumer:
        """The consumer (created if absent), seen at ``seen_time``."""
        self.journal.append((LOCAL_CONSUMER, name, seen_time))
        return self._touch(name, seen_time)

    def delete_consumer(self, name: bytes) -> int:
        """Delete a consumer and its pending entries; returns how many it had."""
        self.journal.append((LOCAL_DELCONSUMER, name))
        return self._delete_consumer(name)

    def unlate(self, sid: SID) -> None:
        self.late.discard(sid)
        self.journal.append((LOCAL_UNLATE, sid[0], sid[1]))

    def note_arrival(self, sid: SID) -> None:
        """An entry was added: late when this region already delivered past its ID (and it is
        after the group's start)."""
        last = self.last_local
        if last is not None and sid <= last and sid > (self.regs[-1][3], self.regs[-1][4]):
            self.late.add(sid)

    def apply_local(self, ops: Iterable[tuple[Any, ...]]) -> None:
        for op in ops:
            kind = op[0]
            if kind == LOCAL_NACK:
                self._set_nack((op[1], op[2]), op[3], op[4], op[5])
            elif kind == LOCAL_UNNACK:
                self._drop_nack((op[1], op[2]))
            elif kind == LOCAL_CONSUMER:
                self._touch(op[1], op[2])
            elif kind == LOCAL_DELCONSUMER:
                self._delete_consumer(op[1])
            elif kind == LOCAL_LAST:
                self._set_last((op[1], op[2]), op[3])
            elif kind == LOCAL_UNLATE:
                self.late.discard((op[1], op[2]))

    def _set_last(self, last: SID, entries_read: int) -> None:
        self.last_local = last
        self.read_local = entries_read

    def _set_nack(self, sid: SID, consumer: bytes, time: int, count: int) -> None:
        nack = self.pel.get(sid)
        if nack is None:
            nack = self.pel[sid] = Nack(consumer, time, count)
        else:
            if nack.consumer != consumer:
                old = self.consumers.get(nack.consumer)
                if old is not None:
                    old.pel.pop(sid, None)
            nack.consumer, nack.delivery_time, nack.delivery_count = consumer, time, count
        owner = self.consumers.get(consumer)
        if owner is None:
            owner = self.consumers[consumer] = Consumer(time)
        owner.pel[sid] = nack

    def _drop_nack(self, sid: SID) -> None:
        nack = self.pel.pop(sid, None)
        if nack is not None:
            owner = self.consumers.get(nack.consumer)
            if owner is not None:
                owner.pel.pop(sid, None)

    def _touch(self, name: bytes, seen_time: int) -> Consumer:
        c = self.consumers.get(name)
        if c is None:
            c = self.consumers[name] = Consumer(seen_time)
        c.seen_time = seen_time
        return c

    def _delete_consumer(self, name: bytes) -> int:
        c = self.consumers.pop(name, None)
        if c is None:
            return 0
        for sid in c.pel:
            self.pel.pop(sid, None)
        return len(c.pel)

    def reset_local(self) -> None:
        self.last_local = None
        self.read_local = NO_ENTRIES_READ
        self.pel = SortedDict()
        self.consumers = {}
        self.late = set()

    def forget_acks(self, ctx: VV) -> None:
        self.acks = {a for a in self.acks if ctx.get(a[2], 0) < a[3]}
        self.acked = {(a[0], a[1]) for a in self.acks}

    def ack(self, ids: Iterable[SID], tag: Tag) -> int:
        """Acknowledge: remember the IDs, drop them from the pending lists. Returns how many
        were pending here."""
        n = 0
        for sid in ids:
            self.acks.add((sid[0], sid[1], tag[1], tag[2]))
            self.acked.add(sid)
            nack = self.pel.pop(sid, None)
            if nack is not None:
                n += 1
                consumer = self.consumers.get(nack.consumer)
                if consumer is not None:
                    consumer.pel.pop(sid, None)
        return n



def encode_local(g: Group) -> list[Any]:
    """A group's local state (msgpack-able)."""
    pel = [[sid[0], sid[1], n.consumer, n.delivery_time, n.delivery_count] for sid, n in g.pel.items()]
    consumers = [[name, c.seen_time] for name, c in g.consumers.items()]
    last = None if g.last_local is None else [g.last_local[0], g.last_local[1], g.read_local]
    return [last, pel, consumers, [x for sid in sorted(g.late) for x in sid]]


def decode_local(g: Group, data: Any) -> None:
    last, pel, consumers, late = data
    g.reset_local()
    g.late = set(zip(late[::2], late[1::2], strict=True))
    if last is not None:
        g._set_last((last[0], last[1]), last[2])
    for name, seen in consumers:
        g.consumers[name] = Consumer(seen)
    for ms, seq, name, dtime, dcount in pel:
        g._set_nack((ms, seq), name, dtime, dcount)


