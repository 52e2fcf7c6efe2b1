"""XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, XINFO HELP (Redis 7.0.15's
xinfoReplyWithStreamInfo and xinfoCommand).

``radix-tree-keys`` and ``radix-tree-nodes`` describe Redis's memory layout: the listpack
nodes as ``stream.Nodes`` models them, and the nodes of the rax (Redis's compressed radix tree)
that would index them by their first IDs as 16-byte big-endian keys (``rax_nodes``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.types.stream import Stream
from crdt.types.stream_groups import Group
from server import errors
from server.commands.common import int_arg
from server.commands.registry import command
from server.commands.streams import fmt_id, read_stream
from server.commands.streams_groups import lag, long_long, now_ms
from server.resp import Error, Map, Status

if TYPE_CHECKING:
    from server.connection import Client


def _syntax(sub: bytes) -> Error:
    return Error("ERR unknown subcommand or wrong number of arguments for '%s'. Try XINFO HELP."
                 % errors._text(sub[:128]))


def _stream(c: Client, key: bytes) -> Stream:
    s = read_stream(c, key)
    if s is None:
        raise Error(errors.NO_SUCH_KEY)
    return s


def _group(c: Client, key: bytes, name: bytes) -> tuple[Stream, Group]:
    s = _stream(c, key)
    g = s.group(name)
    if g is None:
        raise Error("NOGROUP No such consumer group '%s' for key name '%s'" % (errors.arg_text(name), errors.arg_text(key)))
    return s, g


def _entry(s: Stream, k: Any) -> Any:
    return [fmt_id(k), list(s.fields[k])]


def rax_nodes(keys: list[bytes]) -> int:
    """How many nodes Redis's rax holds for these distinct keys of one length (sorted): the
    root, one per branching position and per child of one, a compressed node per chain, and a
    leaf per key."""

    def node(depth: int, ks: list[bytes]) -> int:
        if len(ks) == 1:
            return 1 if len(ks[0]) == depth else 2  # a leaf, or a chain down to it
        common = depth
        while all(k[common] == ks[0][common] for k in ks):
            common += 1
        return (1 if common > depth else 0) + branch(common, ks)

    def branch(depth: int, ks: list[bytes]) -> int:
        total, start = 1, 0
        for i in range(1, len(ks) + 1):
            if i == len(ks) or ks[i][depth] != ks[start][depth]:
                total += node(depth + 1, ks[start:i])
                start = i
        return total

    return 1 if not keys else node(0, keys)


def _head(s: Stream, full: bool) -> list[tuple[str, Any]]:
    starts = sorted({k[0].to_bytes(8, "big") + k[1].to_bytes(8, "big") for k in s.nodes.starts})
    return [
        ("length", len(s)),
        ("radix-tree-keys", len(s.nodes)),
        ("radix-tree-nodes", rax_nodes(starts)),
        ("last-generated-id", fmt_id(s.last_id)),
        ("max-deleted-entry-id", fmt_id(s.max_deleted)),
        ("entries-added", long_long(s.entries_added)),
        ("recorded-first-entry-id", fmt_id(s.first_id())),
    ]


def _group_full(s: Stream, name: bytes, g: Group, count: int) -> Map:
    pel = list(g.pel.items())
    pel = pel[:count] if count else pel
    consumers = []
    for cname, cons in sorted(g.consumers.items()):
        cpel = list(cons.pel.items())
        cpel = cpel[:count] if count else cpel
        consumers.append(Map([
            ("name", cname), ("seen-time", cons.seen_time), ("pel-count", len(cons.pel)),
            ("pending", [[fmt_id(sid), n.delivery_time, n.delivery_count] for sid, n in cpel]),
        ]))
    return Map([
        ("name", name), ("last-delivered-id", fmt_id(g.last_id)),
        ("entries-read", None if g.entries_read < 0 else g.entries_read), ("lag", lag(s, g)),
        ("pel-count", len(g.pel)),
        ("pending", [[fmt_id(sid), n.consumer, n.delivery_time, n.delivery_count] for sid, n in pel]),
        ("consumers", consumers),
    ])


@command("xinfo|stream")
def cmd_xinfo_stream(c: Client, argv: list[bytes]) -> Any:
    s = _stream(c, argv[2])  # xinfoCommand looks the key up before the options are read
    full = False
    count = 10
    if len(argv) > 3:
        if argv[3].lower() != b"full":
            raise _syntax(argv[1])
        full = True
        if len(argv) > 4:
            if len(argv) != 6 or argv[4].lower() != b"count":
                raise _syntax(argv[1])
            count = int_arg(argv[5])
            if count < 0:
                count = 10
    items = _head(s, full)
    if not full:
        first = s.keys[0] if len(s) else None
        last = s.keys[-1] if len(s) else None
        items += [
            ("groups", len(s.live_groups())),
            ("first-entry", None if first is None else _entry(s, first)),
            ("last-entry", None if last is None else _entry(s, last)),
        ]
        return Map(items)
    keys = list(s.keys.islice(0, count)) if count else list(s.keys)
    items.append(("entries", [_entry(s, k) for k in keys]))
    items.append(("groups", [_group_full(s, name, g, count) for name, g in s.live_groups()]))
    return Map(items)


@command("xinfo|groups")
def cmd_xinfo_groups(c: Client, argv: list[bytes]) -> Any:
    s = _stream(c, argv[2])
    return [
        Map([
            ("name", name), ("consumers", len(g.consumers)), ("pending", len(g.pel)),
            ("last-delivered-id", fmt_id(g.last_id)),
            ("entries-read", None if g.entries_read < 0 else g.entries_read), ("lag", lag(s, g)),
        ])
        for name, g in s.live_groups()
    ]


@command("xinfo|consumers")
def cmd_xinfo_consumers(c: Client, argv: list[bytes]) -> Any:
    _, g = _group(c, argv[2], argv[3])
    now = now_ms(c)
    return [
        Map([("name", name), ("pending", len(cons.pel)), ("idle", max(now - cons.seen_time, 0))])
        for name, cons in sorted(g.consumers.items())
    ]


_HELP = [
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
]


@command("xinfo|help")
def cmd_xinfo_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in _HELP]
