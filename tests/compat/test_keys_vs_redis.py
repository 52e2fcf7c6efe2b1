"""Generic key commands, activekv against a real redis-server (RESP2 and RESP3, see ``diff``).

Where Redis's reply order comes from its hash table (KEYS, SCAN) we compare as multisets;
SCAN's cursor values and step sizes are Redis internals, so we compare what a full iteration
returns, not each step. RANDOMKEY is random: we assert it returns a key that exists.
"""

from __future__ import annotations

import time

from tests.compat.helpers import check_near, check_type
from tests.conftest import Differential


def _fill(diff: Differential, n: int, prefix: str = "key:") -> None:
    args: list[str] = []
    for i in range(n):
        args += [f"{prefix}{i}", str(i)]
    diff.check("MSET", *args)


# -- DEL / UNLINK / EXISTS / TOUCH / TYPE ---------------------------------------------------


def test_del_against_a_single_item_and_multiple(diff: Differential) -> None:
    diff.check_all(("SET", "x", "foo"), ("GET", "x"), ("DEL", "x"), ("GET", "x"), ("DEL", "x"),
                   ("MSET", "a", "1", "b", "2", "c", "3"), ("DEL", "a", "b", "c", "d", "a"), ("EXISTS", "a", "b"))


def test_unlink_can_reclaim_keys(diff: Differential) -> None:
    diff.check_all(("MSET", "a", "1", "b", "2"), ("UNLINK", "a", "b", "nokey"), ("UNLINK", "a"), ("DBSIZE",))


def test_exists_counts_each_argument(diff: Differential) -> None:
    diff.check_all(("EXISTS", "x"), ("SET", "x", "v"), ("EXISTS", "x"), ("EXISTS", "x", "x", "y", "x"),
                   ("DEL", "x"), ("EXISTS", "x", "x"))


def test_touch_returns_the_number_of_existing_keys(diff: Differential) -> None:
    diff.check_all(("MSET", "k1", "a", "k2", "b"), ("TOUCH", "k1", "k2", "k3", "k1"), ("TOUCH", "none"))


def test_type_of_string_and_missing(diff: Differential) -> None:
    diff.check_all(("SET", "s", "v"), ("TYPE", "s"), ("TYPE", "nokey"), ("SET", "i", "12"), ("TYPE", "i"))


# -- KEYS ------------------------------------------------------------------------------------


def test_keys_with_pattern(diff: Differential) -> None:
    for key in ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c", "hello", "hallo", "hxllo", "hllo",
                "heeeello", "h*llo", "h?llo", "h\\llo", "a[b", "x", "-", "]"]:
        diff.check("SET", key, "v")
    for pattern in ["foo*", "*", "key*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo",
                    "h\\*llo", "h\\?llo", "h\\\\llo", "a[b", "a\\[b", "*o*", "[", "[]", "]", "-", "h[!e]llo",
                    "??", "?", "*[", "h[a-]llo", "nomatch*", "", "\\", "*\\"]:
        diff.check("KEYS", pattern, unordered=True)


def test_keys_with_an_empty_database(diff: Differential) -> None:
    diff.check_all(("KEYS", "*"), ("DBSIZE",))


# -- SCAN ------------------------------------------------------------------------------------


def _scan_all(conn: object, *args: object) -> tuple[list[bytes], int]:
    keys: list[bytes] = []
    cursor = b"0"
    calls = 0
    while True:
        reply = conn.call("SCAN", cursor, *args)  # type: ignore[attr-defined]
        assert reply.type == "*", reply
        cursor_reply, items = reply.value
        assert cursor_reply.type == "$"
        keys += [item.value for item in items.value]
        cursor = cursor_reply.value
        calls += 1
        assert calls < 10000
        if cursor == b"0":
            return keys, calls


def _check_scan(diff: Differential, *args: object) -> list[bytes]:
    ref_keys, _ = _scan_all(diff.ref, *args)
    our_keys, _ = _scan_all(diff.ours, *args)
    # SCAN may return a key more than once; the union must equal Redis's.
    assert set(our_keys) == set(ref_keys), args
    return sorted(set(our_keys))


def test_scan_basic_full_iteration_equals_keys(diff: Differential) -> None:
    _fill(diff, 20)
    keys = _check_scan(diff)
    assert keys == sorted(diff.ours.call("KEYS", "*").plain())
    _check_scan(diff, "COUNT", "3")


def test_scan_more_than_128_keys_uses_the_cursor(diff: Differential) -> None:
    _fill(diff, 300)
    for args in [(), ("COUNT", "5"), ("COUNT", "100"), ("MATCH", "key:1*"), ("MATCH", "key:1*", "COUNT", "7"),
                 ("TYPE", "string"), ("TYPE", "set"), ("MATCH", "nomatch*")]:
        keys = _check_scan(diff, *args)
        assert keys == sorted(diff.ref.call("KEYS", args[1] if args[:1] == ("MATCH",) else "*").plain()) or \
            args[:1] == ("TYPE",) or "COUNT" in args
    _, calls = _scan_all(diff.ours, "COUNT", "10")
    assert calls > 1, "a big keyspace must take several SCAN calls"


def test_scan_match_and_type(diff: Differential) -> None:
    _fill(diff, 30)
    diff.check("SET", "other", "v")
    assert len(_check_scan(diff, "MATCH", "key:1*")) == 11
    assert len(_check_scan(diff, "TYPE", "string")) == 31
    assert _check_scan(diff, "TYPE", "STRING", "MATCH", "oth*") == [b"other"]
    assert _check_scan(diff, "TYPE", "hash") == []
    assert _check_scan(diff, "TYPE", "nosuchtype") == []


def test_scan_of_an_empty_database(diff: Differential) -> None:
    diff.check("SCAN", "0")
    diff.check("SCAN", "0", "MATCH", "x*", "COUNT", "5", "TYPE", "string")


def test_scan_guarantees_keys_present_throughout_iteration(diff: Differential) -> None:
    _fill(diff, 200)
    seen: set[bytes] = set()
    cursor = b"0"
    added = 0
    while True:
        cursor_reply, items = diff.ours.call("SCAN", cursor, "COUNT", "20").value
        seen |= {i.value for i in items.value}
        diff.ours.call("SET", f"new:{added}", "v")  # the keyspace grows while we iterate
        added += 1
        cursor = cursor_reply.value
        if cursor == b"0":
            break
    assert {f"key:{i}".encode() for i in range(200)} <= seen


def test_scan_invalid_cursor_and_options(diff: Differential) -> None:
    _fill(diff, 5)
    for cursor in ["abc", "1.5", " 1", "1 ", "18446744073709551616", "99999999999999999999999", "0x10"]:
        diff.check("SCAN", cursor)
    # strtoul accepts these: Redis treats them as (odd) valid cursors; the reply's content
    # depends on Redis's hash table, so only the reply type is compared.
    for cursor in ["-1", "+0", "18446744073709551615", ""]:
        check_type(diff, "SCAN", cursor)
    for args in [("COUNT",), ("COUNT", "0"), ("COUNT", "-1"), ("COUNT", "abc"), ("MATCH",), ("TYPE",),
                 ("FOO", "bar"), ("COUNT", "10", "MATCH"), ("count", "99999999999999999999")]:
        diff.check("SCAN", "0", *args)


# -- RANDOMKEY -------------------------------------------------------------------------------


def test_randomkey(diff: Differential) -> None:
    diff.check("RANDOMKEY")
    diff.check("SET", "only", "v")
    diff.check("RANDOMKEY")
    _fill(diff, 10)
    for _ in range(20):
        ref, ours = diff.both("RANDOMKEY")
        assert ours.type == ref.type == "$"
        assert diff.ours.call("EXISTS", ours.value).value == 1  # random: assert the property


def test_randomkey_against_expired_keys(diff: Differential) -> None:
    diff.check("SET", "k", "v", "PX", "1")
    time.sleep(0.01)
    diff.check("RANDOMKEY")


# -- RENAME / RENAMENX -----------------------------------------------------------------------


def test_rename_basic_usage(diff: Differential) -> None:
    diff.check_all(("SET", "mykey", "hello"), ("RENAME", "mykey", "mykey1"), ("RENAME", "mykey1", "mykey2"),
                   ("GET", "mykey"), ("GET", "mykey2"), ("EXISTS", "mykey1"))


def test_rename_source_key_should_no_longer_exist(diff: Differential) -> None:
    diff.check_all(("RENAME", "nokey", "x"), ("RENAMENX", "nokey", "x"), ("EXISTS", "x"))


def test_rename_against_already_existing_key(diff: Differential) -> None:
    diff.check_all(("SET", "a", "foo"), ("SET", "b", "bar"), ("RENAME", "a", "b"), ("GET", "a"), ("GET", "b"))


def test_renamenx_basic_and_against_existing(diff: Differential) -> None:
    diff.check_all(("SET", "a", "foo"), ("RENAMENX", "a", "b"), ("GET", "b"), ("SET", "c", "x"),
                   ("RENAMENX", "b", "c"), ("GET", "b"), ("GET", "c"))


def test_rename_where_source_and_dest_key_are_the_same(diff: Differential) -> None:
    diff.check_all(("SET", "a", "v"), ("RENAME", "a", "a"), ("RENAMENX", "a", "a"), ("GET", "a"),
                   ("RENAME", "none", "none"), ("RENAMENX", "none", "none"))


def test_rename_with_volatile_key_transfers_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "a", "v", "EX", "100"), ("SET", "b", "w"), ("RENAME", "a", "b"), ("TTL", "b"),
                   ("SET", "c", "v"), ("SET", "d", "w", "EX", "100"), ("RENAME", "c", "d"), ("TTL", "d"))


def test_rename_of_expired_source(diff: Differential) -> None:
    diff.check("SET", "a", "v", "PX", "1")
    time.sleep(0.01)
    diff.check_all(("RENAME", "a", "b"), ("RENAMENX", "a", "b"), ("EXISTS", "b"))


# -- COPY ------------------------------------------------------------------------------------


def test_copy_basic_usage_for_string(diff: Differential) -> None:
    diff.check_all(("SET", "a", "v"), ("COPY", "a", "b"), ("GET", "b"), ("SET", "a", "w"), ("GET", "b"),
                   ("COPY", "a", "b"), ("GET", "b"), ("COPY", "a", "b", "REPLACE"), ("GET", "b"),
                   ("COPY", "nokey", "c"), ("EXISTS", "c"))


def test_copy_for_string_to_another_db(diff: Differential) -> None:
    diff.check_all(("SET", "a", "v"), ("COPY", "a", "a", "DB", "9"), ("SELECT", "9"), ("GET", "a"),
                   ("COPY", "a", "a", "DB", "0"), ("COPY", "a", "a", "DB", "0", "REPLACE"), ("SELECT", "0"),
                   ("GET", "a"), ("COPY", "a", "b", "db", "0"), ("GET", "b"), ("SELECT", "9"), ("FLUSHDB",),
                   ("SELECT", "0"))


def test_copy_does_not_replace_an_existing_key_without_replace(diff: Differential) -> None:
    diff.check_all(("MSET", "a", "1", "b", "2"), ("COPY", "a", "b"), ("GET", "b"), ("COPY", "a", "b", "REPLACE"),
                   ("GET", "b"))


def test_copy_keeps_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "a", "v", "EX", "100"), ("COPY", "a", "b"), ("TTL", "b"),
                   ("SET", "c", "v"), ("SET", "d", "w", "EX", "100"), ("COPY", "c", "d", "REPLACE"), ("TTL", "d"))


def test_copy_errors(diff: Differential) -> None:
    diff.check("SET", "a", "v")
    for args in [("a", "a"), ("a", "a", "DB", "0"), ("a", "b", "DB", "16"), ("a", "b", "DB", "-1"),
                 ("a", "b", "DB", "abc"), ("a", "b", "DB"), ("a", "b", "FOO"), ("a", "b", "REPLACE", "FOO"),
                 ("a", "b", "DB", "99", "FOO"), ("a", "b", "FOO", "DB", "99"), ("a", "b", "DB", "4294967296"),
                 ("nokey", "nokey"), ("nokey", "b", "DB", "99"), ("a", "a", "REPLACE"), ("a", "b", "DB", "1.5")]:
        diff.check("COPY", *args)
    diff.check("EXISTS", "b")


# -- SELECT ----------------------------------------------------------------------------------


def test_select_an_out_of_range_or_non_integer_db(diff: Differential) -> None:
    for index in ["16", "-1", "1000000", "abc", "1.5", "", "9223372036854775808", " 1", "4294967296"]:
        diff.check("SELECT", index)
    diff.check_all(("SELECT", "15"), ("SET", "x", "in15"), ("SELECT", "0"), ("GET", "x"), ("SELECT", "15"),
                   ("GET", "x"), ("FLUSHDB",), ("SELECT", "0"))


# -- OBJECT ENCODING -------------------------------------------------------------------------


def test_object_encoding_of_strings(diff: Differential) -> None:
    for value in ["1", "-1", "12345678901234567890", "9223372036854775807", "-9223372036854775808",
                  "9223372036854775808", "007", "-0", "+1", "1.5", "", "x", "a" * 44, "a" * 45, "a" * 100,
                  " 1", "0"]:
        diff.check("SET", "k", value)
        diff.check("OBJECT", "ENCODING", "k")
    diff.check_all(("OBJECT", "ENCODING", "nokey"), ("INCR", "n"), ("OBJECT", "ENCODING", "n"),
                   ("SETEX", "e", "100", "123"), ("OBJECT", "ENCODING", "e"),
                   ("MSET", "m", "55", "m2", "abc"), ("OBJECT", "ENCODING", "m"), ("OBJECT", "ENCODING", "m2"))


def test_object_encoding_arity_and_unknown_subcommand(diff: Differential) -> None:
    diff.check_all(("OBJECT", "ENCODING"), ("OBJECT",))
    check_near(diff, "DBSIZE", tolerance=0)
