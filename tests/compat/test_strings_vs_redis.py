"""String commands, activekv against a real redis-server (RESP2 and RESP3, see ``diff``).

Every reply — type and value, error text included — must be identical. TTLs are compared
with a tolerance of a few ms (the two servers read their clocks at different moments).
"""

from __future__ import annotations

import random
import time

from crdt.numbers import INT64_MAX, INT64_MIN
from tests.compat.helpers import check_near
from tests.conftest import Differential

LLONG_MAX, LLONG_MIN = INT64_MAX, INT64_MIN  # Redis calls them LLONG_*


# -- GET / SET ------------------------------------------------------------------------------


def test_set_and_get_an_item(diff: Differential) -> None:
    diff.check_all(
        ("SET", "x", "foobar"), ("GET", "x"), ("GET", "nosuch"), ("SET", "x", ""), ("GET", "x"),
        ("SET", "bin", b"\x00\x01\xff\r\n"), ("GET", "bin"), ("SET", "x", "a" * 1000), ("GET", "x"),
    )


def test_set_nx_and_xx(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "1", "XX"), ("GET", "k"), ("SET", "k", "1", "NX"), ("SET", "k", "2", "NX"),
        ("GET", "k"), ("SET", "k", "3", "XX"), ("GET", "k"), ("SET", "k", "4", "nx"),
        ("SET", "k", "5", "xx"), ("GET", "k"),
    )


def test_set_get_option_returns_old_value(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "v1", "GET"), ("SET", "k", "v2", "GET"), ("GET", "k"),
        ("SET", "k", "v3", "NX", "GET"), ("GET", "k"), ("SET", "nk", "v", "XX", "GET"), ("EXISTS", "nk"),
        ("SET", "k", "v4", "XX", "GET"), ("SET", "nk2", "v", "NX", "GET"), ("GET", "nk2"),
    )


def test_set_with_ex_px_exat_pxat(diff: Differential) -> None:
    now = int(time.time())
    diff.check_all(("SET", "a", "1", "EX", "100"), ("TTL", "a"))
    check_near(diff, "PTTL", "a", tolerance=20)
    diff.check_all(("SET", "b", "1", "PX", "100000"), ("TTL", "b"))
    diff.check_all(("SET", "c", "1", "EXAT", now + 1000), ("EXPIRETIME", "c"), ("PEXPIRETIME", "c"))
    diff.check_all(("SET", "d", "1", "PXAT", (now + 1000) * 1000 + 123), ("PEXPIRETIME", "d"),
                   ("EXPIRETIME", "d"))
    diff.check_all(("SET", "e", "1", "ex", "100"), ("SET", "e", "2"), ("TTL", "e"))


def test_set_with_exat_in_the_past(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "v", "EXAT", "1"), ("GET", "k"), ("EXISTS", "k"),
        ("SET", "k", "v", "PXAT", "1"), ("GET", "k"), ("TTL", "k"),
        ("SET", "k", "old"), ("SET", "k", "v", "EXAT", "1", "GET"), ("GET", "k"),
    )


def test_set_keepttl_retains_ttl(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "1", "EX", "100"), ("SET", "k", "2", "KEEPTTL"), ("GET", "k"), ("TTL", "k"),
        ("SET", "k", "3", "KEEPTTL", "XX"), ("TTL", "k"), ("SET", "nokey", "1", "KEEPTTL"), ("TTL", "nokey"),
    )


def test_set_invalid_option_combinations(diff: Differential) -> None:
    bad = [
        ("NX", "XX"), ("XX", "NX"), ("EX", "10", "PX", "100"), ("PX", "100", "EX", "10"),
        ("EX", "10", "KEEPTTL"), ("KEEPTTL", "EX", "10"), ("KEEPTTL", "PX", "10"), ("EXAT", "10", "PXAT", "10"),
        ("EX", "10", "EX", "10"), ("EX",), ("PX",), ("EXAT",), ("PXAT",), ("FOO",), ("EX", "10", "FOO"),
        ("KEEPTTL", "PXAT", "100"), ("GET", "FOO"), ("NX", "NX", "XX"),
    ]
    for opts in bad:
        diff.check("SET", "k", "v", *opts)
    diff.check("EXISTS", "k")


def test_set_repeated_compatible_options(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "v", "NX", "NX"), ("SET", "k", "w", "XX", "XX"), ("GET", "k"),
        ("SET", "k", "x", "GET", "GET"), ("SET", "k", "y", "KEEPTTL", "KEEPTTL"), ("GET", "k"),
    )


def test_set_bad_expire_values(diff: Differential) -> None:
    for unit in ("EX", "PX", "EXAT", "PXAT"):
        for value in ("0", "-1", "abc", "1.5", "", " 1", LLONG_MAX, LLONG_MIN, "99999999999999999999",
                      LLONG_MAX // 1000 + 1):
            diff.check("SET", "k", "v", unit, value)
    diff.check("EXISTS", "k")


def test_set_ex_overflowing_with_current_time(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "v", "PX", LLONG_MAX - 1000), ("SET", "k", "v", "EX", LLONG_MAX // 1000),
        ("SET", "k", "v", "PXAT", LLONG_MAX), ("TTL", "k"), ("EXISTS", "k"),
    )


def test_set_ex_with_nx_on_existing_key_keeps_old_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v"), ("SET", "k", "w", "NX", "EX", "100"), ("TTL", "k"), ("GET", "k"))


# -- SETNX / SETEX / PSETEX / GETSET ------------------------------------------------------


def test_setnx_target_key_missing_and_existing(diff: Differential) -> None:
    diff.check_all(("SETNX", "k", "foobared"), ("GET", "k"), ("SETNX", "k", "blabla"), ("GET", "k"))


def test_setnx_against_expired_volatile_key(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v", "PX", "1"))
    time.sleep(0.01)
    diff.check_all(("SETNX", "k", "new"), ("GET", "k"), ("TTL", "k"))


def test_setex_and_psetex(diff: Differential) -> None:
    diff.check_all(("SETEX", "k", "100", "v"), ("GET", "k"), ("TTL", "k"),
                   ("PSETEX", "p", "100000", "v"), ("GET", "p"), ("TTL", "p"))
    check_near(diff, "PTTL", "p", tolerance=20)


def test_setex_and_psetex_bad_expire(diff: Differential) -> None:
    for cmd in ("SETEX", "PSETEX"):
        for value in ("0", "-10", "abc", "1.5", LLONG_MAX, "", LLONG_MAX // 1000 + 1):
            diff.check(cmd, "k", value, "v")
    diff.check("EXISTS", "k")


def test_getset_set_new_value_and_get_old(diff: Differential) -> None:
    diff.check_all(("GETSET", "k", "a"), ("GET", "k"), ("GETSET", "k", "b"), ("GET", "k"),
                   ("SET", "t", "v", "EX", "100"), ("GETSET", "t", "w"), ("TTL", "t"))


# -- GETDEL / GETEX --------------------------------------------------------------------------


def test_getdel_propagate_as_del(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v"), ("GETDEL", "k"), ("GETDEL", "k"), ("EXISTS", "k"), ("GETDEL", "none"))


def test_getex_ex_px_exat_pxat(diff: Differential) -> None:
    now = int(time.time())
    diff.check_all(("SET", "k", "v"), ("GETEX", "k"), ("TTL", "k"), ("GETEX", "k", "EX", "100"),
                   ("TTL", "k"), ("GETEX", "k", "PX", "200000"), ("TTL", "k"),
                   ("GETEX", "k", "EXAT", now + 300), ("EXPIRETIME", "k"),
                   ("GETEX", "k", "PXAT", (now + 400) * 1000 + 5), ("PEXPIRETIME", "k"))


def test_getex_persist_removes_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v", "EX", "100"), ("GETEX", "k", "PERSIST"), ("TTL", "k"),
                   ("GETEX", "k", "PERSIST"), ("TTL", "k"), ("GETEX", "nokey", "PERSIST"))


def test_getex_no_option_and_missing_key(diff: Differential) -> None:
    diff.check_all(("GETEX", "nokey"), ("GETEX", "nokey", "EX", "10"), ("EXISTS", "nokey"))


def test_getex_with_time_in_the_past_deletes(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v"), ("GETEX", "k", "EXAT", "1"), ("EXISTS", "k"),
                   ("SET", "k", "v"), ("GETEX", "k", "PXAT", "1"), ("GET", "k"))


def test_getex_syntax_errors(diff: Differential) -> None:
    diff.check("SET", "k", "v")
    bad = [
        ("EX",), ("PX",), ("EX", "10", "PX", "10"), ("PERSIST", "EX", "10"), ("EX", "10", "PERSIST"),
        ("FOO",), ("EX", "0"), ("EX", "-1"), ("EX", "abc"), ("PX", "0"), ("EXAT", "0"), ("PXAT", "-5"),
        ("EX", LLONG_MAX), ("PERSIST", "PERSIST"), ("EX", "10", "EX", "10"),
    ]
    for opts in bad:
        diff.check("GETEX", "k", *opts)
        diff.check("GETEX", "missing", *opts)
    diff.check("TTL", "k")


# -- MGET / MSET / MSETNX -----------------------------------------------------------------


def test_mget_against_missing_and_present(diff: Differential) -> None:
    diff.check_all(("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "c", "a"), ("MGET", "nope"))


def test_mset_with_already_existing_same_key_twice(diff: Differential) -> None:
    diff.check_all(("SET", "x", "0"), ("MSET", "x", "xxx", "x", "yyy"), ("GET", "x"))


def test_mset_wrong_number_of_args(diff: Differential) -> None:
    diff.check_all(("MSET", "x", "10", "y"), ("MSETNX", "x", "10", "y"), ("EXISTS", "x"))


def test_msetnx_with_already_existent_key(diff: Differential) -> None:
    diff.check_all(("SET", "x2", "v"), ("MSETNX", "x1", "a", "x2", "b", "x3", "c"), ("EXISTS", "x1"),
                   ("EXISTS", "x3"), ("GET", "x2"), ("MSETNX", "y1", "a", "y2", "b"), ("MGET", "y1", "y2"),
                   ("MSETNX", "z", "1", "z", "2"), ("GET", "z"))


def test_mset_removes_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v", "EX", "100"), ("MSET", "k", "w"), ("TTL", "k"))


# -- APPEND / STRLEN ------------------------------------------------------------------------


def test_append_basics(diff: Differential) -> None:
    diff.check_all(("EXISTS", "foo"), ("APPEND", "foo", "bar"), ("GET", "foo"), ("APPEND", "foo", "100"),
                   ("GET", "foo"), ("APPEND", "foo", ""), ("APPEND", "e", ""), ("EXISTS", "e"), ("GET", "e"))


def test_append_basics_integer_encoded_values(diff: Differential) -> None:
    diff.check_all(("SET", "foo", "1"), ("APPEND", "foo", "2"), ("GET", "foo"),
                   ("SET", "foo", "1"), ("APPEND", "foo", "abc"), ("GET", "foo"))
    assert_string_encoding(diff, "foo")


def test_append_keeps_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v", "EX", "100"), ("APPEND", "k", "w"), ("TTL", "k"))


def test_strlen_against_integer_encoded_value(diff: Differential) -> None:
    diff.check_all(("SET", "i", "-555"), ("STRLEN", "i"), ("STRLEN", "nokey"), ("SET", "s", "hello"),
                   ("STRLEN", "s"), ("SET", "e", ""), ("STRLEN", "e"))


# -- GETRANGE / SETRANGE --------------------------------------------------------------------


def test_getrange_against_non_existing_key(diff: Differential) -> None:
    diff.check_all(("GETRANGE", "nokey", "0", "-1"), ("GETRANGE", "nokey", "-1", "-100"),
                   ("GETRANGE", "nokey", "5", "3"))


def test_getrange_all_negative_and_out_of_range_combinations(diff: Differential) -> None:
    diff.check("SET", "s", "Hello World")
    values = [0, 1, 3, 5, 10, 11, 12, 100, -1, -2, -5, -11, -12, -100, LLONG_MAX, LLONG_MIN]
    for start in values:
        for end in values:
            diff.check("GETRANGE", "s", start, end)
    diff.check("SET", "i", "1234")
    for start, end in [(0, -1), (-3, -2), (1, 1), (2, 100), (-100, -100), (3, 2)]:
        diff.check("GETRANGE", "i", start, end)
    diff.check("SET", "e", "")
    for start, end in [(0, -1), (0, 0), (-1, -1), (1, 0)]:
        diff.check("GETRANGE", "e", start, end)


def test_getrange_bad_arguments(diff: Differential) -> None:
    diff.check_all(("SET", "s", "hello"), ("GETRANGE", "s", "a", "1"), ("GETRANGE", "s", "0", "b"),
                   ("GETRANGE", "s", "0", "99999999999999999999"), ("GETRANGE", "nokey", "x", "1"))


def test_setrange_against_non_existing_key(diff: Differential) -> None:
    diff.check_all(("SETRANGE", "k", "0", "foo"), ("GET", "k"), ("DEL", "k"),
                   ("SETRANGE", "k", "0", ""), ("EXISTS", "k"), ("SETRANGE", "k", "1", "foo"), ("GET", "k"),
                   ("SETRANGE", "z", "5", ""), ("EXISTS", "z"))


def test_setrange_against_string_encoded_key(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "foo"), ("SETRANGE", "k", "0", "b"), ("GET", "k"),
        ("SET", "k", "foo"), ("SETRANGE", "k", "0", ""), ("GET", "k"),
        ("SET", "k", "foo"), ("SETRANGE", "k", "1", "b"), ("GET", "k"),
        ("SET", "k", "foo"), ("SETRANGE", "k", "4", "bar"), ("GET", "k"),
        ("SET", "k", "foo"), ("SETRANGE", "k", "10", ""), ("GET", "k"),
    )


def test_setrange_against_integer_encoded_key(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "1234"), ("SETRANGE", "k", "0", "2"), ("GET", "k"),
        ("SET", "k", "1234"), ("SETRANGE", "k", "1", "3"), ("GET", "k"),
        ("SET", "k", "1234"), ("SETRANGE", "k", "5", "2"), ("GET", "k"),
    )
    assert_string_encoding(diff, "k")


def test_setrange_offset_errors(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "foo"), ("SETRANGE", "k", "-1", "bar"), ("SETRANGE", "k", "abc", "bar"),
        ("SETRANGE", "k", "536870911", "world"), ("SETRANGE", "k", "536870912", ""),
        ("SETRANGE", "k", LLONG_MAX, "x"), ("SETRANGE", "nokey", "-1", ""),
        ("SETRANGE", "nokey", "536870912", "x"), ("GET", "k"), ("SETRANGE", "k", "1.5", "x"),
    )


def test_setrange_keeps_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v", "EX", "100"), ("SETRANGE", "k", "3", "w"), ("TTL", "k"), ("GET", "k"))


def assert_string_encoding(diff: Differential, key: str) -> None:
    """Inherent difference: Redis leaves a string written by APPEND/SETRANGE/SETBIT "raw"
    even when it reads as an integer (its encoding remembers the write history); activekv
    derives the encoding from the value, as a fresh SET would. Property: a string encoding."""
    ref, ours = diff.both("OBJECT", "ENCODING", key)
    assert ref.value == b"raw"
    assert ours.type == "$" and ours.value in (b"int", b"embstr", b"raw")


# -- INCR / DECR ----------------------------------------------------------------------------


def test_incr_against_non_existing_key(diff: Differential) -> None:
    diff.check_all(("INCR", "novar"), ("GET", "novar"), ("INCR", "novar"), ("DECR", "d"), ("GET", "d"))


def test_incr_against_key_created_by_incr_itself_and_set(diff: Differential) -> None:
    diff.check_all(("SET", "n", "100"), ("INCR", "n"), ("INCRBY", "n", "17179869184"), ("DECRBY", "n", "5"),
                   ("INCRBY", "n", "-8"), ("DECRBY", "n", "-2"), ("GET", "n"))


def test_incr_against_key_with_spaces(diff: Differential) -> None:
    for value in (" 11", "11 ", " 11 ", "1 1", "\t1", "+1", "0x10", "1e3", "1.0", "", "-", "--1"):
        diff.check("SET", "k", value)
        diff.check("INCR", "k")
        diff.check("DECRBY", "k", "1")
        diff.check("GET", "k")


def test_incr_with_leading_zeros_and_negative_zero(diff: Differential) -> None:
    for value in ("007", "00", "-0", "-007", "0"):
        diff.check("SET", "k", value)
        diff.check("INCR", "k")


def test_incr_fails_against_key_holding_non_integer(diff: Differential) -> None:
    diff.check_all(("SET", "k", "foo"), ("INCR", "k"), ("DECR", "k"), ("INCRBY", "k", "1"), ("GET", "k"))


def test_incr_overflow_both_ways(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", LLONG_MAX - 1), ("INCR", "k"), ("INCR", "k"), ("GET", "k"),
        ("SET", "k", LLONG_MIN + 1), ("DECR", "k"), ("DECR", "k"), ("GET", "k"),
        ("SET", "k", "1"), ("INCRBY", "k", LLONG_MAX), ("DECRBY", "k", LLONG_MAX), ("DECRBY", "k", LLONG_MAX),
        ("SET", "k", "0"), ("INCRBY", "k", LLONG_MIN), ("DECR", "k"), ("GET", "k"),
        ("SET", "k", "9223372036854775808"), ("INCR", "k"), ("SET", "k", "-9223372036854775809"), ("DECR", "k"),
    )


def test_decrby_llong_min(diff: Differential) -> None:
    diff.check_all(("SET", "k", "0"), ("DECRBY", "k", LLONG_MIN), ("GET", "k"),
                   ("DECRBY", "nokey", LLONG_MIN), ("EXISTS", "nokey"), ("SET", "s", "foo"),
                   ("DECRBY", "s", LLONG_MIN))


def test_incrby_with_bad_increment(diff: Differential) -> None:
    for delta in ("abc", "1.5", " 1", "1 ", "", "9223372036854775808", "-9223372036854775809", "0x1", "1e2"):
        diff.check("INCRBY", "k", delta)
        diff.check("DECRBY", "k", delta)
    diff.check("EXISTS", "k")


def test_incr_keeps_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "k", "1", "EX", "100"), ("INCR", "k"), ("TTL", "k"))


# -- INCRBYFLOAT ----------------------------------------------------------------------------


def test_incrbyfloat_against_non_existing_key(diff: Differential) -> None:
    diff.check_all(("INCRBYFLOAT", "novar", "1"), ("GET", "novar"), ("INCRBYFLOAT", "novar", "0.25"),
                   ("GET", "novar"))


def test_incrbyfloat_formatting(diff: Differential) -> None:
    cases = [
        ("10.5", "0.1"), ("3.0e3", "0"), ("5.0e3", "200"), ("5000", "5.0e3"), ("1", "1.5e2"),
        ("0", "1e-5"), ("0.1", "0.2"), ("17179869184", "1.5"), ("10", "-10"), ("-1.5", "0.5"),
        ("1", "1E10"), ("0", "1.23456789012345678"), ("1.1", "-1.1"), ("1e20", "1"), ("0", "123456789012345678"),
        ("3", "0.0"), ("0", "-0.0"), ("0", "1e308"), ("1e308", "1e308"), ("0", "0x10"), ("007", "1"),
    ]
    for start, delta in cases:
        diff.check("SET", "k", start)
        diff.check("INCRBYFLOAT", "k", delta)
        diff.check("GET", "k")


def test_incrbyfloat_repeated_small_increments_round_like_long_double(diff: Differential) -> None:
    diff.check("SET", "k", "10.5")
    for delta in ["0.1"] * 15 + ["1e-10"] * 5 + ["-0.3"] * 10 + ["1e18", "0.5", "1e-3"]:
        diff.check("INCRBYFLOAT", "k", delta)
    diff.check("GET", "k")
    diff.check("INCR", "k")


def test_incrbyfloat_against_key_originally_set_with_set(diff: Differential) -> None:
    diff.check_all(("SET", "n", "1.5"), ("INCRBYFLOAT", "n", "1.5"), ("INCRBYFLOAT", "n", "-3"), ("GET", "n"))


def test_incr_after_incrbyfloat_that_lands_on_an_integer(diff: Differential) -> None:
    diff.check_all(("SET", "n", "1.0"), ("INCRBYFLOAT", "n", "1"), ("GET", "n"), ("INCR", "n"),
                   ("INCRBYFLOAT", "n", "0.5"), ("INCR", "n"), ("INCRBY", "n", "9223372036854775807"))


def test_incrbyfloat_inf_and_nan(diff: Differential) -> None:
    for delta in ("inf", "-inf", "+inf", "nan", "NaN", "infinity", "1e5000"):
        diff.check("SET", "k", "1")
        diff.check("INCRBYFLOAT", "k", delta)
    diff.check_all(("SET", "k", "inf"), ("INCRBYFLOAT", "k", "1"), ("SET", "k", "1e5000"),
                   ("INCRBYFLOAT", "k", "1"), ("GET", "k"))


def test_incrbyfloat_fails_against_non_float_values(diff: Differential) -> None:
    for value in ("foo", " 1", "1 ", "1.5x", "", "1,5", "--1"):
        diff.check("SET", "k", value)
        diff.check("INCRBYFLOAT", "k", "1")
    for delta in ("foo", " 1", "1 ", "", "1..2", "e1"):
        diff.check("SET", "k", "1")
        diff.check("INCRBYFLOAT", "k", delta)
        diff.check("INCRBYFLOAT", "nokey", delta)
    diff.check("EXISTS", "nokey")


def test_incrbyfloat_keeps_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "k", "1", "EX", "100"), ("INCRBYFLOAT", "k", "0.5"), ("TTL", "k"))


# -- SETBIT / GETBIT --------------------------------------------------------------------------


def test_setbit_against_non_existing_key(diff: Differential) -> None:
    diff.check_all(("SETBIT", "k", "1", "1"), ("GET", "k"), ("SETBIT", "k", "1", "0"), ("GET", "k"),
                   ("SETBIT", "k", "100", "1"), ("STRLEN", "k"), ("GET", "k"), ("SETBIT", "z", "7", "0"),
                   ("GET", "z"), ("STRLEN", "z"))


def test_setbit_against_integer_encoded_key(diff: Differential) -> None:
    diff.check_all(("SET", "k", "1"), ("SETBIT", "k", "6", "1"), ("GET", "k"), ("SETBIT", "k", "2", "0"),
                   ("GET", "k"))


def test_setbit_with_out_of_range_bit_offset_or_value(diff: Differential) -> None:
    diff.check("SET", "k", "v")
    for offset, bit in [("4294967296", "1"), ("-1", "1"), ("abc", "1"), ("1", "2"), ("1", "-1"),
                        ("1", "abc"), ("1", "10"), ("4294967295", "x"), ("1.5", "1"), ("1", "")]:
        diff.check("SETBIT", "k", offset, bit)
        diff.check("SETBIT", "nokey", offset, bit)
    diff.check("GET", "k")


def test_getbit_against_non_existing_key_and_out_of_range(diff: Differential) -> None:
    diff.check_all(("GETBIT", "nokey", "0"), ("GETBIT", "nokey", "4294967295"), ("GETBIT", "nokey", "4294967296"),
                   ("GETBIT", "nokey", "-1"), ("SET", "k", "`"), ("GETBIT", "k", "0"), ("GETBIT", "k", "1"),
                   ("GETBIT", "k", "2"), ("GETBIT", "k", "3"), ("GETBIT", "k", "8"), ("GETBIT", "k", "100"),
                   ("GETBIT", "k", "x"), ("SET", "i", "1"), ("GETBIT", "i", "2"), ("GETBIT", "i", "3"))


# -- BITCOUNT / BITPOS ------------------------------------------------------------------------


def test_bitcount_against_missing_and_present(diff: Differential) -> None:
    diff.check_all(("BITCOUNT", "no"), ("BITCOUNT", "no", "0", "-1"), ("BITCOUNT", "no", "0", "-1", "BIT"),
                   ("SET", "s", "foobar"), ("BITCOUNT", "s"), ("BITCOUNT", "s", "0", "0"),
                   ("BITCOUNT", "s", "1", "1"), ("BITCOUNT", "s", "1", "1", "BYTE"),
                   ("BITCOUNT", "s", "5", "30", "BIT"), ("BITCOUNT", "s", "5", "30", "bit"))


def test_bitcount_syntax_errors(diff: Differential) -> None:
    diff.check("SET", "s", "foobar")
    for key in ("s", "no"):
        for args in [("0",), ("0", "1", "FOO"), ("0", "1", "BIT", "x"), ("a", "1"), ("0", "b"),
                     ("0", "1", "BYTE", "BYTE"), ("a", "b", "BIT"), ("0", "99999999999999999999")]:
            diff.check("BITCOUNT", key, *args)


def test_bitpos_basics(diff: Differential) -> None:
    diff.check_all(
        ("BITPOS", "no", "1"), ("BITPOS", "no", "0"), ("BITPOS", "no", "0", "1"), ("BITPOS", "no", "1", "1", "2"),
        ("BITPOS", "no", "0", "0", "-1", "BIT"),
        ("SET", "s", b"\xff\xf0\x00"), ("BITPOS", "s", "0"), ("BITPOS", "s", "1"),
        ("SET", "s", b"\x00\x0f\x00"), ("BITPOS", "s", "1"), ("BITPOS", "s", "0"),
        ("SET", "s", b"\xff\xff\xff"), ("BITPOS", "s", "0"), ("BITPOS", "s", "0", "0"),
        ("BITPOS", "s", "0", "0", "-1"), ("BITPOS", "s", "0", "0", "-1", "BIT"),
        ("SET", "s", b"\x00\x00\x00"), ("BITPOS", "s", "1"), ("BITPOS", "s", "1", "0", "-1", "BIT"),
        ("SET", "e", ""), ("BITPOS", "e", "0"), ("BITPOS", "e", "1"),
    )


def test_bitpos_syntax_errors(diff: Differential) -> None:
    diff.check("SET", "s", "foobar")
    for key in ("s", "no"):
        for args in [("2",), ("-1",), ("x",), ("1", "a"), ("1", "0", "b"), ("1", "0", "1", "FOO"),
                     ("1", "0", "1", "BIT", "x"), ("1", "0", "1", "BIT", "1"), ("0", "0", "1", "byte", "BYTE")]:
            diff.check("BITPOS", key, *args)


def test_bitcount_and_bitpos_random_ranges(diff: Differential) -> None:
    rng = random.Random(20240611)
    values = [b"", b"\x00", b"\xff", b"foobar", b"\x00\x00\xff\x00", b"\xff\xff\x00\xff\xff"]
    values += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12))) for _ in range(6)]
    for i, value in enumerate(values):
        key = f"b{i}"
        diff.check("SET", key, value)
        n = len(value) * 8 + 4
        for _ in range(25):
            start, end = rng.randint(-n, n), rng.randint(-n, n)
            unit = rng.choice([(), ("BYTE",), ("BIT",)])
            diff.check("BITCOUNT", key, start, end, *unit)
            bit = rng.choice([0, 1])
            diff.check("BITPOS", key, bit, start, end, *unit)
            diff.check("BITPOS", key, bit, start)
        diff.check("BITPOS", key, 0)
        diff.check("BITPOS", key, 1)
