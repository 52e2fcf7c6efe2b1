"""DUMP/RESTORE of streams: RDB_TYPE_STREAM_LISTPACKS_2 (what Redis 7.0 writes) and
RDB_TYPE_STREAM_LISTPACKS (Redis 5 and 6, read only), as rdb.c's rdbSaveObject/rdbLoadObject.

The object is the rax of listpack nodes (each as its 16-byte big-endian master ID and the
listpack), then the length, last ID, first ID, max-deleted ID and entries-added (the last three
only in the _2 type), then the consumer groups in name order: name, last-delivered ID,
entries-read (_2 only), the group's pending entries (raw ID, delivery time, delivery count) and
its consumers in name order (name, seen time, the raw IDs they own).

A node's listpack (t_stream.c, streamAppendItem) is a master entry (live count, deleted count,
the field names of the node's first entry, a 0 terminator) and per entry: flags (deleted,
same fields as the master), the ID as deltas from the master ID, the field count and names
unless they are the master's, the values, and the entry's element count. We write the nodes
``crdt.types.stream_nodes`` models, deleted entries included, so the bytes are Redis's for
the same XADD/XDEL/XTRIM history in this region; after a merge with peers or a restart the
deleted entries are gone from the model (the same stream, fewer bytes).

Loading validates everything Redis's deep sanitization does, and more (the length, the last ID
and the pending entries must agree with the entries and consumers): a payload we cannot hold
as a valid stream is "Bad data format", never a half-restored key.

RESTORE is a local write of the whole stream (``XRestore``: entries with their IDs, metadata,
groups with their last-delivered ID and entries-read); the pending entries and consumers come
along as this region's local group state (``XLocal``, as XREADGROUP writes it: logged, replayed
after a restart, applied by no other region; SEMANTICS.md: pending lists are local).
Afterwards the origin's node model takes the payload's own layout (``after_restore``).
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any, NamedTuple

from crdt.effects import Expire
from crdt.numbers import parse_int
from crdt.types.stream import STREAM, Stream, XLocal, XRestore
from crdt.types.stream_groups import LOCAL_CONSUMER, LOCAL_NACK, NO_ENTRIES_READ, SID, ZERO, EKey
from crdt.types.stream_nodes import Nodes
from server.rdb import listpack
from server.rdb import objects as o
from server.rdb.listpack import FormatError
from server.rdb.rdbio import Reader, save_len, save_string

FLAG_DELETED, FLAG_SAMEFIELDS = 1, 2
_U64 = 1 << 64
_MAX_ID: SID = (_U64 - 1, _U64 - 1)


def _raw_id(sid: SID) -> bytes:
    return struct.pack(">QQ", sid[0], sid[1])


def _ms_time(t: int) -> bytes:
    return struct.pack("<q", t)


def _len64(n: int) -> bytes:
    """rdbSaveLen of a C value stored as uint64 (entries-read -1 is 2^64 - 1)."""
    return save_len(n % _U64)


@lru_cache(maxsize=4096)
def _int_entry(n: int) -> bytes:
    """One listpack integer element (flags, ID deltas and counts repeat: cached)."""
    return listpack.encode_entry(b"%d" % n)


def _int(v: bytes) -> int:
    n = parse_int(v)
    if n is None:
        raise FormatError("listpack element is not an integer")
    return n


# -- dump -----------------------------------------------------------------------------------


def _node_entries(s: Stream, nodes: Nodes, i: int, live_ids: set[SID], written: set[SID]) -> list[EKey]:
    """The entries node ``i`` writes: one per stream ID (entries two regions added with the
    same explicit ID are both kept here, SEMANTICS "Streams", but a Redis stream holds an ID
    once: the first live one is written, and no deleted entry with a live entry's ID)."""
    out = []
    for k in nodes.items[i]:
        sid = (k[0], k[1])
        if sid in written or (k not in s.fields and sid in live_ids):
            continue
        written.add(sid)
        out.append(k)
    return out


def _node_listpack(s: Stream, nodes: Nodes, i: int, items: list[EKey]) -> tuple[SID, bytes]:
    ms, seq, names = nodes.masters[i]
    master = min((ms, seq), (items[0][0], items[0][1]))
    live = sum(1 for k in items if k in s.fields)
    enc, ienc = listpack.encode_entry, _int_entry
    parts = [ienc(live), ienc(len(items) - live), ienc(len(names)), *map(enc, names), ienc(0)]
    for k in items:
        fields = s.fields.get(k)
        flags = 0
        if fields is None:
            fields = nodes.gone.get(k, ())
            flags |= FLAG_DELETED
        same = fields[::2] == names
        if same:
            flags |= FLAG_SAMEFIELDS
        parts += (ienc(flags), ienc(_delta(k[0], master[0])), ienc(_delta(k[1], master[1])))
        n = len(fields) // 2
        if same:
            parts += map(enc, fields[1::2])
            parts.append(ienc(n + 3))
        else:
            parts.append(ienc(n))
            parts += map(enc, fields)
            parts.append(ienc(2 * n + 4))
    body = b"".join(parts)
    return master, listpack.header(listpack.HEADER_SIZE + len(body) + 1, len(parts)) + body + b"\xff"


def _delta(a: int, b: int) -> int:
    d = (a - b) % _U64  # uint64 difference, stored as an int64
    return d - _U64 if d >= 1 << 63 else d


def dump_stream(s: Stream) -> bytes:
    nodes = s.nodes
    live_ids = {(k[0], k[1]) for k in s.keys}
    written: set[SID] = set()
    packed: list[bytes] = []
    for i in range(len(nodes)):
        items = _node_entries(s, nodes, i, live_ids, written)
        if any(k in s.fields for k in items):
            master, lp = _node_listpack(s, nodes, i, items)
            packed += (save_string(_raw_id(master)), save_string(lp))
    out = [bytes([o.TYPE_STREAM_LISTPACKS_2]), save_len(len(packed) // 2), *packed]
    last, first, maxdel = s.last_id, s.first_id(), s.max_deleted
    for n in (len(live_ids), *last, *first, *maxdel, s.entries_added):
        out.append(save_len(n))
    groups = s.live_groups()
    out.append(save_len(len(groups)))
    for name, g in groups:
        out += (save_string(name), save_len(g.last_id[0]), save_len(g.last_id[1]), _len64(g.entries_read))
        out.append(save_len(len(g.pel)))
        for sid, nack in g.pel.items():
            out += (_raw_id(sid), _ms_time(nack.delivery_time), save_len(nack.delivery_count))
        consumers = sorted(g.consumers.items())
        out.append(save_len(len(consumers)))
        for cname, consumer in consumers:
            out += (save_string(cname), _ms_time(consumer.seen_time), save_len(len(consumer.pel)))
            out += [_raw_id(sid) for sid in consumer.pel]
    return b"".join(out)


# -- load -----------------------------------------------------------------------------------


class LoadedGroup(NamedTuple):
    name: bytes
    last: SID
    entries_read: int
    pel: list[tuple[SID, bytes, int, int]]  # ID, consumer, delivery time, delivery count
    consumers: list[tuple[bytes, int]]  # name, seen time


class LoadedStream(NamedTuple):
    # per node: (entry ID, fields, deleted), in ID order
    nodes: list[list[tuple[SID, tuple[bytes, ...], bool]]]
    last: SID
    maxdel: SID
    entries_added: int
    groups: list[LoadedGroup]

    def entries(self) -> list[tuple[SID, tuple[bytes, ...]]]:
        return [(sid, f) for node in self.nodes for sid, f, deleted in node if not deleted]


def _parse_node(master: SID, lp: bytes) -> list[tuple[SID, tuple[bytes, ...], bool]]:
    """The entries of one node (streamValidateListpackIntegrity, deep)."""
    elems = listpack.decode_stream_node(lp)
    if not elems:
        raise FormatError("Empty listpack inside stream")
    pos = 0

    def take(n: int = 1) -> list[bytes]:
        nonlocal pos
        if pos + n > len(elems):
            raise FormatError("truncated stream listpack")
        out = elems[pos : pos + n]
        pos += n
        return out

    live, deleted, nmaster = (_int(v) for v in take(3))
    if nmaster < 0:
        raise FormatError("bad master field count")
    names = tuple(take(nmaster))
    if _int(take()[0]) != 0:
        raise FormatError("bad master entry terminator")
    out: list[tuple[SID, tuple[bytes, ...], bool]] = []
    while pos < len(elems):
        flags, dms, dseq = (_int(v) for v in take(3))  # (only the two flag bits are read, as Redis)
        sid = ((master[0] + dms) % _U64, (master[1] + dseq) % _U64)
        if flags & FLAG_SAMEFIELDS:
            values = take(len(names))
            fields = tuple(x for pair in zip(names, values, strict=True) for x in pair)
            count = len(names) + 3
        else:
            n = _int(take()[0])
            if n < 0:
                raise FormatError("bad field count")
            fields = tuple(take(2 * n))
            count = 3 + 2 * n + 1
        if not fields or _int(take()[0]) != count:
            raise FormatError("bad entry element count")
        if out and sid <= out[-1][0] or sid < master:
            raise FormatError("stream IDs out of order")
        out.append((sid, fields, bool(flags & FLAG_DELETED)))
    if live != sum(not d for _, _, d in out) or deleted != len(out) - live:
        raise FormatError("master entry counts do not match the entries")
    if not live:
        raise FormatError("node without live entries")
    return out


def _load_id(r: Reader) -> SID:
    ms = r.length()
    return ms, r.length()


def _estimate_read(length: int, added: int, last: SID, first: SID, sid: SID) -> int:
    """streamEstimateDistanceFromFirstEverEntry, for groups of a Redis 5/6 payload (no
    max-deleted ID there)."""
    if not added:
        return 0
    if sid == last or (not length and sid <= last):
        return added
    if sid > last:
        return NO_ENTRIES_READ
    if sid < first:
        return added - length
    if sid == first:
        return added - length + 1
    return NO_ENTRIES_READ


def _load_group(r: Reader, v2: bool, length: int, added: int, last: SID, first: SID) -> LoadedGroup:
    name = r.string()
    gid = _load_id(r)
    if v2:
        read = r.length()
        entries_read = read - _U64 if read >= 1 << 63 else read
    else:
        entries_read = _estimate_read(length, added, last, first, gid)
    times: dict[SID, tuple[int, int]] = {}
    for _ in range(r.length()):
        sid = struct.unpack(">QQ", r.take(16))
        t = struct.unpack("<q", r.take(8))[0]
        if sid in times:
            raise FormatError("Duplicated global PEL entry loading stream consumer group")
        times[sid] = (t, r.length())
    owner: dict[SID, bytes] = {}
    consumers: dict[bytes, int] = {}
    for _ in range(r.length()):
        cname = r.string()
        if cname in consumers:
            raise FormatError("Duplicate stream consumer detected.")
        consumers[cname] = struct.unpack("<q", r.take(8))[0]
        for _ in range(r.length()):
            sid = struct.unpack(">QQ", r.take(16))
            if sid not in times:
                raise FormatError("Consumer entry not found in group global PEL")
            if sid in owner:
                raise FormatError("Duplicated consumer PEL entry loading a stream consumer group")
            owner[sid] = cname
    if len(owner) != len(times):
        raise FormatError("Stream CG PEL entry without consumer")
    pel = [(sid, owner[sid], *times[sid]) for sid in sorted(times)]
    return LoadedGroup(name, gid, entries_read, pel, list(consumers.items()))


def load_stream(r: Reader, v2: bool) -> o.Loaded:
    nodes: dict[SID, list[tuple[SID, tuple[bytes, ...], bool]]] = {}
    for _ in range(r.length()):
        key = r.string()
        if len(key) != 16:
            raise FormatError("Stream node key entry is not the size of a stream ID")
        master: SID = struct.unpack(">QQ", key)
        lp = r.string()
        if master in nodes:
            raise FormatError("Listpack re-added with existing key")
        nodes[master] = _parse_node(master, lp)
    ordered = [nodes[k] for k in sorted(nodes)]
    flat = [e for node in ordered for e in node]
    if any(a[0] >= b[0] for a, b in zip(flat, flat[1:], strict=False)):
        raise FormatError("stream nodes overlap")
    length = r.length()
    last = _load_id(r)
    live = [sid for sid, _, deleted in flat if not deleted]
    if v2:
        _load_id(r)  # the first ID: always the first live entry's, which we derive
        maxdel = _load_id(r)
        added = r.length()
    else:
        maxdel, added = ZERO, length
    if length != len(live):
        raise FormatError("Stream length inconsistent with rax entries")
    if flat and last < flat[-1][0]:
        raise FormatError("stream last ID below its last entry")
    first = live[0] if live else _MAX_ID
    groups: dict[bytes, LoadedGroup] = {}
    for _ in range(r.length()):
        g = _load_group(r, v2, length, added, last, first)
        if g.name in groups:
            raise FormatError("Duplicated consumer group name")
        groups[g.name] = g
    return STREAM, LoadedStream(ordered, last, maxdel, added, list(groups.values()))


# -- restore --------------------------------------------------------------------------------


def restore_stream(db: int, key: bytes, v: LoadedStream, at: int) -> list[Any]:
    """The stream as one ``XRestore`` (replicated), then each group's pending entries and
    consumers as an ``XLocal`` (this region's only, logged and replayed like XREADGROUP's)."""
    entries = tuple((sid[0], sid[1], fields) for sid, fields in v.entries())
    groups = tuple((g.name, g.last[0], g.last[1], g.entries_read, ()) for g in v.groups)
    out: list[Any] = [XRestore(db, key, entries, v.last, v.entries_added, v.maxdel, groups)]
    for g in v.groups:
        ops: list[tuple[Any, ...]] = [(LOCAL_CONSUMER, name, seen) for name, seen in g.consumers]
        ops += [(LOCAL_NACK, sid[0], sid[1], c, t, n) for sid, c, t, n in g.pel]
        if ops:
            out.append(XLocal(db, key, g.name, tuple(ops)))
    return [*out, *([Expire(db, key, at)] if at else [])]


def after_restore(s: Stream, v: LoadedStream) -> None:
    """This region's node model takes the payload's layout, deleted entries included (local
    and derived: peers model the restored entries as their own XADDs would)."""
    by_id: dict[SID, EKey] = {(k[0], k[1]): k for k in s.keys}
    nodes = Nodes()
    gone: list[tuple[EKey, tuple[bytes, ...]]] = []
    for node in v.nodes:
        for j, (sid, fields, deleted) in enumerate(node):
            k = by_id.get(sid)
            if k is None:
                if not deleted:
                    return  # not what this RESTORE wrote (cannot happen): keep the model
                k = (sid[0], sid[1], 0, "", 0, 0)
                gone.append((k, fields))
            nodes.add(k, fields, split=j == 0)
    for k, fields in gone:
        nodes.remove(k, fields)
    s.nodes = nodes


def register() -> None:
    o.DUMPERS[STREAM] = dump_stream
    o.RESTORERS[STREAM] = restore_stream
    o.AFTER_RESTORE[STREAM] = after_restore
    o.LOADERS[o.TYPE_STREAM_LISTPACKS] = lambda r: load_stream(r, False)
    o.LOADERS[o.TYPE_STREAM_LISTPACKS_2] = lambda r: load_stream(r, True)


register()
