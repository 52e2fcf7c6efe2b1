"""Streams against redis-server 7.0.15 (RESP2 and RESP3): XADD, XRANGE, XREVRANGE, XLEN, XDEL,
XTRIM, XSETID, XREAD (non-blocking), replies and errors byte for byte. Explicit IDs are used
wherever the reply would show the server's clock; ``*`` is checked by shape."""

from __future__ import annotations

import re

import pytest

from tests.compat.helpers import check_type
from tests.conftest import Differential


def _fill(diff: Differential, key: str = "s", n: int = 5) -> None:
    for i in range(1, n + 1):
        diff.check("XADD", key, f"{i}-{i}", "f", str(i), "g", "x" * i)


def test_xadd_explicit_ids_and_errors(diff: Differential) -> None:
    diff.check_all(
        ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "1-1", "a", "2"), ("XADD", "s", "1-0", "a", "2"),
        ("XADD", "s", "1-2", "a", "2", "b", "3"), ("XADD", "s", "1", "a", "1"), ("XADD", "s", "2", "a", "1"),
        ("XADD", "s", "2-*", "a", "1"), ("XADD", "s", "3-*", "a", "1"), ("XADD", "s", "0-0", "a", "1"),
        ("XADD", "n", "0-0", "a", "1"), ("XADD", "n", "0", "a", "1"), ("XADD", "n", "0-*", "a", "1"),
        ("XADD", "s", "-", "a", "1"), ("XADD", "s", "+", "a", "1"), ("XADD", "s", "x", "a", "1"),
        ("XADD", "s", "1-x", "a", "1"), ("XADD", "s", "-1", "a", "1"), ("XADD", "s", "1-2-3", "a", "1"),
        ("XADD", "s", "*-1", "a", "1"), ("XADD", "s", "18446744073709551616", "a", "1"),
        ("XADD", "s", "5-1", "a"), ("XADD", "s", "5-1", "a", "b", "c"), ("XADD", "s", "5-1"),
        ("XADD", "s", "18446744073709551615-18446744073709551615", "a", "1"),
        ("XADD", "s", "*", "a", "1"), ("XADD", "s", "18446744073709551615-*", "a", "1"),
        ("XRANGE", "s", "-", "+"), ("XLEN", "s"), ("XLEN", "nokey"),
        ("XADD", "m", "18446744073709551615-*", "a", "1"), ("XADD", "m", "18446744073709551615-*", "a", "1"),
        ("XRANGE", "m", "-", "+"),
        ("SET", "str", "v"), ("XADD", "str", "1-1", "a", "1"), ("XLEN", "str"), ("XRANGE", "str", "-", "+"),
        ("XADD", "nm", "NOMKSTREAM", "1-1", "a", "1"), ("EXISTS", "nm"),
        ("XADD", "s", "NOMKSTREAM", "9-9", "a", "1"), ("TYPE", "s"), ("OBJECT", "ENCODING", "s"),
    )


def test_xadd_auto_id_shape(diff: Differential) -> None:
    ref, ours = diff.both("XADD", "s", "*", "a", "1")
    assert ref.type == ours.type == "$"
    assert re.fullmatch(rb"\d+-0", ours.value), ours
    diff.check("XADD", "t", "5-5", "a", "1")
    check_type(diff, "XADD", "t", "*", "a", "1")
    diff.check("XLEN", "t")


def test_xadd_trim_options(diff: Differential) -> None:
    _fill(diff, "s", 10)
    diff.check_all(
        ("XADD", "s", "MAXLEN", "5", "11-1", "f", "v"), ("XRANGE", "s", "-", "+"),
        ("XADD", "s", "MAXLEN", "=", "3", "12-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN", "~", "1", "13-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MINID", "13", "14-1", "f", "v"), ("XRANGE", "s", "-", "+"),
        ("XADD", "s", "MINID", "=", "14-1", "15-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN", "~", "1", "LIMIT", "10", "16-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN", "1", "LIMIT", "10", "17-1", "f", "v"),
        ("XADD", "s", "LIMIT", "10", "17-1", "f", "v"),
        ("XADD", "s", "MAXLEN", "-1", "17-1", "f", "v"), ("XADD", "s", "MAXLEN", "x", "17-1", "f", "v"),
        ("XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "17-1", "f", "v"),
        ("XADD", "s", "MAXLEN", "1", "MINID", "1", "17-1", "f", "v"),
        ("XADD", "s", "MINID", "x", "17-1", "f", "v"), ("XADD", "s", "MINID", "-", "17-1", "f", "v"),
        ("XADD", "s", "MAXLEN", "0", "18-1", "f", "v"), ("XLEN", "s"), ("XRANGE", "s", "-", "+"),
        ("XADD", "s", "maxlen", "~", "0", "NOMKSTREAM", "19-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN"), ("XADD", "s", "MAXLEN", "1", "f", "v"),
    )


def test_xtrim(diff: Differential) -> None:
    _fill(diff, "s", 10)
    diff.check_all(
        ("XTRIM", "s", "MAXLEN", "8"), ("XTRIM", "s", "MAXLEN", "=", "7"), ("XTRIM", "s", "MAXLEN", "~", "2"),
        ("XTRIM", "s", "MINID", "5"), ("XTRIM", "s", "MINID", "~", "7"), ("XRANGE", "s", "-", "+"),
        ("XTRIM", "s", "MAXLEN", "-1"), ("XTRIM", "s", "LIMIT", "5"), ("XTRIM", "s", "MAXLEN", "1", "LIMIT", "5"),
        ("XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "5"), ("XTRIM", "s", "MAXLEN", "1", "foo"),
        ("XTRIM", "s", "foo", "bar"), ("XTRIM", "s", "MAXLEN", "1", "MINID", "1"), ("XTRIM", "nokey", "MAXLEN", "1"),
        ("XTRIM", "s", "NOMKSTREAM", "1"), ("XTRIM", "s", "MAXLEN", "0"), ("EXISTS", "s"), ("XLEN", "s"),
        ("SET", "str", "v"), ("XTRIM", "str", "MAXLEN", "1"),
    )


def test_xtrim_approx_whole_nodes_and_radix_tree_figures(diff: Differential) -> None:
    for i in range(1, 251):
        diff.ref.call("XADD", "s", f"{i}-1", "f", "v")
        diff.ours.call("XADD", "s", f"{i}-1", "f", "v")
    diff.check_all(
        ("XINFO", "STREAM", "s"), ("XDEL", "s", "5-1", "150-1"), ("XINFO", "STREAM", "s"),
        ("XTRIM", "s", "MAXLEN", "~", "120"), ("XLEN", "s"), ("XINFO", "STREAM", "s"),
        ("XTRIM", "s", "MAXLEN", "~", "10", "LIMIT", "50"), ("XTRIM", "s", "MAXLEN", "~", "10", "LIMIT", "99"),
        ("XTRIM", "s", "MINID", "~", "240"), ("XLEN", "s"), ("XRANGE", "s", "-", "+", "COUNT", "2"),
        ("XINFO", "STREAM", "s"),
    )
    for i in range(1, 101):  # a node whose entries all go is freed
        diff.ref.call("XDEL", "s", f"{i + 200}-1")
        diff.ours.call("XDEL", "s", f"{i + 200}-1")
    diff.check_all(("XINFO", "STREAM", "s"), ("XADD", "s", "MAXLEN", "~", "0", "300-1", "f", "v"), ("XINFO", "STREAM", "s"))
    for i in range(1, 301):  # IDs far apart: other rax shapes
        diff.ref.call("XADD", "t", f"{i * 65537}-{i}", "f", "v")
        diff.ours.call("XADD", "t", f"{i * 65537}-{i}", "f", "v")
    diff.check("XINFO", "STREAM", "t")
    for i in range(1, 121):  # large and integer-looking values: nodes close at 4 KB
        fields = ["name", "x" * (i * 7 % 300), "n", str(i * 99991), *(["extra", "-12"] if i % 3 else [])]
        diff.ref.call("XADD", "u", f"{i * 1000}-{i % 5}", *fields)
        diff.ours.call("XADD", "u", f"{i * 1000}-{i % 5}", *fields)
    diff.check_all(("XINFO", "STREAM", "u"), ("XTRIM", "u", "MAXLEN", "~", "60"), ("XINFO", "STREAM", "u"),
                   ("XTRIM", "u", "MINID", "~", "100000"), ("XLEN", "u"))


@pytest.mark.parametrize(("entries", "size"), [("7", "4096"), ("1", "4096"), ("0", "1"), ("0", "200"), ("20000", "0")])
def test_node_size_settings_cut_nodes_and_bound_approx_trims(diff: Differential, entries: str, size: str) -> None:
    """stream-node-max-entries / -bytes (0: no limit) decide where nodes start, so what ``~``
    trims remove (whole nodes, at most 100 nodes' worth of entries unless LIMIT says)."""
    try:
        diff.check_all(("CONFIG", "SET", "stream-node-max-entries", entries),
                       ("CONFIG", "SET", "stream-node-max-bytes", size))
        for i in range(1, 301):
            fields = ("f", "v" * (i % 40))
            diff.ref.call("XADD", "s", f"{i}-1", *fields)
            diff.ours.call("XADD", "s", f"{i}-1", *fields)
        diff.check_all(("XINFO", "STREAM", "s"), ("XTRIM", "s", "MAXLEN", "~", "0"), ("XLEN", "s"),
                       ("XADD", "s", "MAXLEN", "~", "5", "400-1", "f", "v"), ("XLEN", "s"),
                       ("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "10"), ("XINFO", "STREAM", "s"))
    finally:
        diff.check_all(("CONFIG", "SET", "stream-node-max-entries", "100"),
                       ("CONFIG", "SET", "stream-node-max-bytes", "4096"))


def test_xdel(diff: Differential) -> None:
    _fill(diff)
    diff.check_all(
        ("XDEL", "s", "2-2", "2-2", "9-9", "3-3"), ("XRANGE", "s", "-", "+"), ("XLEN", "s"),
        ("XDEL", "s", "x"), ("XDEL", "s", "1-1", "x"), ("XLEN", "s"), ("XDEL", "s", "-"), ("XDEL", "nokey", "1-1"),
        ("XDEL", "s", "1"), ("XDEL", "s", "1-1", "4-4", "5-5"), ("EXISTS", "s"), ("XLEN", "s"),
        ("XADD", "s", "5-5", "a", "b"), ("XADD", "s", "5-6", "a", "b"), ("XRANGE", "s", "-", "+"),
        ("SET", "str", "v"), ("XDEL", "str", "1-1"),
    )


def test_xrange_xrevrange(diff: Differential) -> None:
    _fill(diff, "s", 6)
    for args in [
        ("-", "+"), ("2", "4"), ("2-2", "4-4"), ("(2-2", "(4-4"), ("(2", "4"), ("2", "(4"), ("(-", "+"),
        ("-", "(+"), ("4", "2"), ("3-3", "3-3"), ("(3-3", "3-3"), ("(0-0", "+"),
        ("(18446744073709551615-18446744073709551615", "+"), ("-", "(0-0"), ("x", "+"), ("-", "x"),
        ("-", "+", "COUNT", "2"), ("-", "+", "COUNT", "0"), ("-", "+", "COUNT", "-1"), ("-", "+", "count", "x"),
        ("-", "+", "COUNT"), ("-", "+", "LIMIT", "1"), ("-", "+", "COUNT", "1", "COUNT", "3"),
        ("18446744073709551615", "+"), ("1-18446744073709551615", "+"), ("(1-18446744073709551615", "+"),
        ("1-18446744073709551616", "+"),
    ]:
        diff.check("XRANGE", "s", *args)
        rev = (args[1], args[0], *args[2:])
        diff.check("XREVRANGE", "s", *rev)
    diff.check_all(("XRANGE", "nokey", "-", "+"), ("XREVRANGE", "nokey", "+", "-"), ("SET", "str", "v"),
                   ("XRANGE", "str", "-", "+"), ("XRANGE", "str", "x", "+"))


def test_xsetid(diff: Differential) -> None:
    _fill(diff, "s", 3)
    diff.check_all(
        ("XSETID", "s", "2-2"), ("XSETID", "s", "3-3"), ("XSETID", "s", "5-0"), ("XADD", "s", "4-4", "a", "b"),
        ("XADD", "s", "5-*", "a", "b"), ("XSETID", "s", "10-0", "ENTRIESADDED", "2"),
        ("XSETID", "s", "10-0", "ENTRIESADDED", "100", "MAXDELETEDID", "3-0"),
        ("XSETID", "s", "10-0", "MAXDELETEDID", "11-0"), ("XSETID", "s", "2-0"),
        ("XSETID", "s", "10-0", "ENTRIESADDED", "-1"), ("XSETID", "s", "10-0", "ENTRIESADDED", "x"),
        ("XSETID", "s", "10-0", "FOO", "1"), ("XSETID", "s", "10-0", "ENTRIESADDED"), ("XSETID", "s", "-"),
        ("XSETID", "s", "x"), ("XSETID", "nokey", "1-1"), ("XSETID", "nokey", "x"),
        ("XINFO", "STREAM", "s"), ("XDEL", "s", "1-1", "2-2", "3-3", "4-4", "5-1"), ("XINFO", "STREAM", "s"),
        ("XSETID", "s", "1-0"), ("XSETID", "s", "0-1"), ("XINFO", "STREAM", "s"),
        ("SET", "str", "v"), ("XSETID", "str", "1-1"),
    )


def test_xinfo_stream_shapes(diff: Differential) -> None:
    diff.check_all(("XINFO", "STREAM", "nokey"), ("XADD", "s", "1-1", "a", "1"))
    _fill(diff, "t", 3)
    diff.check_all(
        ("XINFO", "STREAM", "s"), ("XINFO", "STREAM", "t"), ("XINFO", "STREAM", "t", "FULL"),
        ("XINFO", "STREAM", "t", "FULL", "COUNT", "1"), ("XINFO", "STREAM", "t", "FULL", "COUNT", "0"),
        ("XINFO", "STREAM", "t", "FULL", "COUNT", "-5"), ("XINFO", "STREAM", "t", "FULL", "COUNT", "x"),
        ("XINFO", "STREAM", "t", "FULLX"), ("XINFO", "STREAM", "t", "FULL", "COUNT"),
        ("XINFO", "STREAM", "t", "FULL", "X", "1"), ("XDEL", "t", "1-1"), ("XINFO", "STREAM", "t"),
        ("XDEL", "t", "2-2", "3-3"), ("XINFO", "STREAM", "t"), ("XINFO", "STREAM", "t", "FULL"),
        ("XINFO", "HELP"), ("XINFO", "FOO"), ("XINFO", "STREAM"),
        ("SET", "str", "v"), ("XINFO", "STREAM", "str"), ("XINFO", "GROUPS", "str"),
    )


def test_xread_non_blocking(diff: Differential) -> None:
    _fill(diff, "s", 4)
    _fill(diff, "t", 2)
    diff.check_all(
        ("XREAD", "STREAMS", "s", "0"), ("XREAD", "STREAMS", "s", "2-2"), ("XREAD", "COUNT", "1", "STREAMS", "s", "t", "0", "1"),
        ("XREAD", "STREAMS", "s", "$"), ("XREAD", "STREAMS", "s", "t", "nokey", "4-4", "0", "0"),
        ("XREAD", "STREAMS", "nokey", "0"), ("XREAD", "STREAMS", "s", "t", "0"), ("XREAD", "STREAMS", "s", ">"),
        ("XREAD", "STREAMS", "s", "x"), ("XREAD", "STREAMS", "s", "-"), ("XREAD", "STREAMS", "s", "+"),
        ("XREAD", "COUNT", "x", "STREAMS", "s", "0"), ("XREAD", "COUNT", "-1", "STREAMS", "s", "0"),
        ("XREAD", "COUNT", "0", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "x", "STREAMS", "s", "0"),
        ("XREAD", "BLOCK", "-1", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "1.5", "STREAMS", "s", "0"),
        ("XREAD", "BLOCK", "10", "STREAMS", "s", "0"), ("XREAD", "FOO", "STREAMS", "s", "0"),
        ("XREAD", "COUNT", "1", "s", "0"), ("XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"),
        ("XREAD", "NOACK", "STREAMS", "s", "0"), ("XREAD", "STREAMS"), ("XREAD", "STREAMS", "s"),
        ("XREAD", "BLOCK", "10", "STREAMS", "s", "$"), ("XREAD", "BLOCK", "10", "STREAMS", "nokey", "$"),
        ("XREAD", "STREAMS", "s", "18446744073709551615-18446744073709551615"),
        ("SET", "str", "v"), ("XREAD", "STREAMS", "str", "0"), ("XREAD", "STREAMS", "s", "str", "0", "0"),
    )


def test_keyspace_commands(diff: Differential) -> None:
    _fill(diff, "s", 3)
    diff.check_all(
        ("XGROUP", "CREATE", "s", "g", "1-1"), ("TYPE", "s"), ("OBJECT", "ENCODING", "s"), ("EXISTS", "s"),
        ("SCAN", "0", "TYPE", "stream"), ("COPY", "s", "c"), ("XRANGE", "c", "-", "+"), ("XINFO", "GROUPS", "c"),
        ("XINFO", "STREAM", "c"), ("RENAME", "c", "r"), ("XRANGE", "r", "-", "+"), ("XINFO", "STREAM", "r"),
        ("EXPIRE", "r", "100"), ("TTL", "r"), ("DEL", "r"), ("EXISTS", "r"), ("XLEN", "r"),
        ("XADD", "s", "9-9", "k", "v"), ("XRANGE", "s", "-", "+"),
    )
    diff.check("SCAN", "0", "TYPE", "stream", unordered=True)


def test_transactions(diff: Differential) -> None:
    diff.check_all(
        ("MULTI",), ("XADD", "s", "1-1", "a", "b"), ("XADD", "s", "1-1", "a", "b"), ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
        ("XREAD", "BLOCK", "0", "STREAMS", "s", "0"), ("XLEN", "s"), ("EXEC",),
    )
