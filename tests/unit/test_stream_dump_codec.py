"""The stream node model with deleted entries (crdt/types/stream_nodes.py) and the stream
codec (server/rdb/streams.py): for any history of XADDs and removes, every node lists its
entries in ID order, deleted ones with their fields, and the payload DUMP writes loads back to
the same nodes, entries, deleted flags and metadata. (Redis's own bytes: the differential
tests in tests/compat/test_dump_streams_vs_redis.py.)"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.types.stream import Stream
from crdt.types.stream_groups import Group
from server.rdb import objects as o
from server.rdb import streams as codec
from server.rdb.listpack import FormatError
from server.rdb.rdbio import Reader

VALUES = st.one_of(st.binary(max_size=40), st.integers(-(2**63), 2**63 - 1).map(lambda n: b"%d" % n),
                   st.just(b"x" * 300))
FIELDS = st.lists(st.tuples(st.sampled_from([b"a", b"b", b"name", b"7"]), VALUES), min_size=1, max_size=3)
HISTORY = st.lists(st.one_of(st.tuples(st.just("add"), FIELDS), st.tuples(st.just("del"), st.integers(0, 10**6))),
                   max_size=150)


def _build(history: list) -> tuple[Stream, list]:  # type: ignore[type-arg]
    s = Stream()
    added = []
    for n, (op, arg) in enumerate(history):
        if op == "add":
            key = (n + 1, n % 3, 0, "r", n + 1, 0)
            fields = tuple(x for pair in arg for x in pair)
            s.add_entry(key, fields)
            added.append((key, fields))
        elif s.keys:
            s.remove_entries([s.keys[arg % len(s.keys)]])
    top = added[-1][0] if added else (0, 0)  # the last ID: the last XADD's, even if deleted
    s.last = [(1, "r", 1, top[0], top[1])]
    return s, added


@settings(max_examples=25, deadline=None)
@given(HISTORY)
def test_nodes_keep_their_entries_deleted_ones_included(history: list) -> None:  # type: ignore[type-arg]
    s, added = _build(history)
    nodes = s.nodes
    live = [k for items in nodes.items for k in items if k in s.fields]
    assert live == list(s.keys)  # every live entry in exactly one node, in ID order
    fields = dict(added)
    for i, items in enumerate(nodes.items):
        assert items == sorted(items)
        assert nodes.live[i] == sum(k in s.fields for k in items) > 0
        assert nodes.total[i] == len(items)
        for k in items:
            if k not in s.fields:
                assert nodes.gone[k] == fields[k]
    assert set(nodes.gone) == {k for items in nodes.items for k in items if k not in s.fields}


@settings(max_examples=25, deadline=None)
@given(HISTORY)
def test_a_dump_loads_back_to_the_same_nodes_and_entries(history: list) -> None:  # type: ignore[type-arg]
    s, _ = _build(history)
    g = s.groups[b"grp"] = Group()
    g.regs = [(1, "r", 2, 0, 0, -1, 0)]
    for k in list(s.keys)[:3]:
        g._set_nack((k[0], k[1]), b"c%d" % (k[0] % 2), 1000 + k[0], 2)
    payload = o.dump_payload(s)
    assert o.verify_payload(payload)
    kind, loaded = o.load_payload(payload)
    assert [[(sid, f, d) for sid, f, d in node] for node in loaded.nodes] == [
        [((k[0], k[1]), s.fields.get(k, s.nodes.gone.get(k)), k not in s.fields) for k in items]
        for items in s.nodes.items]
    assert loaded.last == s.last_id and loaded.entries_added == s.entries_added
    (group,) = loaded.groups
    assert group.entries_read == -1
    assert [(sid, c, t, n) for sid, c, t, n in group.pel] == [
        (sid, nack.consumer, nack.delivery_time, nack.delivery_count) for sid, nack in g.pel.items()]
    # and the node layout is rebuilt from the payload as it was
    copy = Stream()
    for sid, fields in loaded.entries():
        copy.add_entry((sid[0], sid[1], 0, "q", 1, 0), fields)
    copy.last = s.last
    codec.after_restore(copy, loaded)
    assert o.dump_payload(copy) == o.dump_payload(_without_groups(s))


def _without_groups(s: Stream) -> Stream:
    s.groups.clear()
    return s


def test_truncations_of_a_payload_are_format_errors() -> None:
    s, _ = _build([("add", [(b"a", b"1")]), ("add", [(b"b", b"xyz" * 20)]), ("del", 0)])
    body = o.dump_payload(s)[:-10]
    for cut in range(1, len(body)):
        r = Reader(body[:cut], 1)
        try:
            codec.load_stream(r, True)
        except FormatError:
            continue
        raise AssertionError(f"a payload cut at {cut} loaded")


def test_entries_of_two_regions_with_one_id_dump_as_one_redis_entry() -> None:
    """SEMANTICS "Streams": concurrent equal explicit IDs from two regions are both kept; a
    Redis stream holds an ID once, so DUMP writes the first (in stream order), and a deleted
    entry never hides a live one with its ID."""
    s = Stream()
    s.add_entry((5, 0, 1, "a", 1, 0), (b"f", b"from-a"))
    s.add_entry((5, 0, 2, "b", 1, 0), (b"f", b"from-b"))
    s.add_entry((6, 0, 3, "a", 2, 0), (b"f", b"gone"))
    s.add_entry((6, 0, 4, "b", 2, 0), (b"f", b"kept"))
    s.remove_entries([(6, 0, 3, "a", 2, 0)])
    s.last = [(5, "a", 3, 6, 0)]
    _, loaded = o.load_payload(o.dump_payload(s))
    assert loaded.entries() == [((5, 0), (b"f", b"from-a")), ((6, 0), (b"f", b"kept"))]
    assert [d for node in loaded.nodes for _, _, d in node] == [False, False]
