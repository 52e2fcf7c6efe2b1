"""server.glob.matches: a port of Redis's stringmatchlen.

Expected values were taken from redis-server 7.0.15 (KEYS); tests/compat/test_config_vs_redis.py
re-checks the same table against a live server.
"""

from __future__ import annotations

import pytest

from server.glob import matches

# (pattern, name, expected) -- case-sensitive, as KEYS / SCAN MATCH.
CASES: list[tuple[bytes, bytes, bool]] = [
    # * and ?
    (b"*", b"anything", True),
    (b"*", b"", False),  # stringmatchlen itself never matches an empty string...
    (b"**", b"", False),  # ...KEYS/SCAN special-case the lone "*"
    (b"a*", b"a", True),
    (b"a*", b"ab", True),
    (b"a*", b"ba", False),
    (b"*c", b"abc", True),
    (b"h*llo", b"hllo", True),
    (b"h*llo", b"heeello", True),
    (b"*a*a*", b"aa", True),
    (b"*a*a*", b"ab", False),
    (b"a*a*a*a", b"aaaa", True),
    (b"a*a*a*a", b"aaa", False),
    (b"?", b"a", True),
    (b"?", b"", False),
    (b"?", b"ab", False),
    (b"??", b"ab", True),
    (b"h?llo", b"hello", True),
    (b"h?llo", b"hllo", False),
    (b"?", b"\xff", True),
    (b"?", b"\x00", True),
    # sets
    (b"h[ae]llo", b"hallo", True),
    (b"h[ae]llo", b"hello", True),
    (b"h[ae]llo", b"hillo", False),
    (b"h[^e]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hallo", True),
    (b"h[a-b]llo", b"hello", False),
    (b"a[z-a]c", b"abc", True),  # reversed range
    (b"a[\\]]c", b"a]c", True),
    (b"[]]", b"]", False),  # "[]" is an empty set, then a literal "]"
    (b"[]]", b"]]", False),
    (b"[]", b"]", False),
    (b"[^]", b"a", True),  # empty negated set matches any one byte
    (b"[^]]", b"a", False),
    (b"[^]]", b"a]", True),
    (b"[a-]", b"]", True),  # three bytes make a range: a..] (swapped to ]..a)
    (b"[a-]", b"^", True),
    (b"[a-]", b"-", False),
    (b"[a-]", b"b", False),
    (b"[-a]", b"-", True),
    (b"[-a]", b"a", True),
    (b"[a-", b"a", True),  # unterminated set ends with the pattern
    (b"[a-", b"-", True),
    (b"a[", b"a", False),
    (b"a[b", b"ab", True),
    (b"[", b"[", False),
    (b"[\\", b"\\", True),
    (b"[\\-]", b"-", True),
    (b"[a\\-z]", b"b", False),
    (b"[a\\-z]", b"-", True),
    (b"[---]", b"-", True),
    (b"[a-c-e]", b"d", False),
    (b"[a-c-e]", b"-", True),
    (b"[a-c-e]", b"e", True),
    (b"[\\a-c]", b"b", False),  # "\\a" is literal, so "-" is not a range here
    (b"[\\a-c]", b"-", True),
    (b"[*]", b"*", True),
    (b"[?]", b"a", False),
    (b"[[]", b"[", True),
    (b"[!a]", b"b", False),  # no "!" negation in Redis
    (b"[!a]", b"!", True),
    # escapes
    (b"a\\*c", b"a*c", True),
    (b"a\\*c", b"abc", False),
    (b"a\\?c", b"a?c", True),
    (b"a\\?c", b"abc", False),
    (b"a\\[c", b"a[c", True),
    (b"a\\\\c", b"a\\c", True),
    (b"\\", b"\\", True),  # a trailing backslash is literal
    (b"a\\", b"a\\", True),
    (b"*\\", b"a\\", True),
    (b"?\\", b"a\\", True),
    # binary
    (b"\x00", b"\x00", True),
    (b"a\x00b", b"a\x00b", True),
    (b"a?b", b"a\x00b", True),
    (b"[\x00]*", b"\x00", True),  # trailing stars match the empty rest
    (b"x[\xff]y", b"x\xffy", True),
    # signed-char ranges: bytes >= 0x80 sort below 0x00
    (b"[a-\xff]", b"\xff", True),
    (b"[a-\xff]", b"b", False),
    (b"[a-\xff]", b"a", True),
    (b"[\x01-a]", b"\xff", False),
    (b"[\x80-\xff]*", b"\x80x", True),
    (b"[\x80-\xff]*", b"ax", False),
    # case
    (b"[A-Z]", b"a", False),
    (b"FOO", b"foo", False),
]

NOCASE: list[tuple[bytes, bytes, bool]] = [
    (b"FOO", b"foo", True),
    (b"f?O", b"Foo", True),
    (b"[A-Z]*", b"max", True),
    (b"[a-z]", b"Q", True),
    (b"[^A]", b"a", False),
    (b"[XY]", b"y", True),
    (b"\\P", b"p", True),
    (b"[\\P]", b"p", False),  # escapes inside a set compare exactly, even with nocase
    (b"\xc9", b"\xe9", False),  # only ASCII folds
]


@pytest.mark.parametrize(("pattern", "name", "expected"), CASES)
def test_case_sensitive(pattern: bytes, name: bytes, expected: bool) -> None:
    assert matches(pattern, name, False) is expected


@pytest.mark.parametrize(("pattern", "name", "expected"), NOCASE)
def test_nocase(pattern: bytes, name: bytes, expected: bool) -> None:
    assert matches(pattern, name, True) is expected


def test_nesting_limit() -> None:
    # Redis gives up when a match would enter more than 1000 nested '*' levels,
    # except that a trailing '*' matches without recursing.
    for n, ok in ((999, True), (1000, True), (1001, False)):
        assert matches(b"a*" * n + b"z", b"a" * n + b"z") is ok
    assert matches(b"a*" * 1001, b"a" * 1001) is True


def test_pathological_pattern_is_fast() -> None:
    # CVE-2022-36021: without the skipLongerMatches cut-off this is exponential.
    assert matches(b"a*" * 40 + b"b", b"a" * 60) is False
    assert matches(b"*a" * 30 + b"*b", b"a" * 1000) is False
