"""Redis glob-style pattern matching: a faithful port of ``stringmatchlen`` (Redis 7.0 util.c).

Used by KEYS, SCAN ... MATCH, CONFIG GET and anything else that takes a Redis pattern.

Semantics, byte for byte as Redis:

* ``*`` any run of bytes (consecutive stars collapse), ``?`` any one byte;
* ``[abc]`` a set, ``[^abc]`` its complement, ``[a-z]`` a range (ends may come in either
  order), ``\\x`` inside a set is a literal ``x``; an unterminated ``[`` set ends at the end
  of the pattern; ``[a-]`` is the range ``a``..``]`` (Redis reads three bytes for a range);
* ``\\x`` outside a set is a literal ``x`` (a trailing ``\\`` is itself literal);
* ``nocase`` folds ASCII ``A-Z`` only (C-locale ``tolower``);
* range bounds compare as C ``char`` on x86/ARM-Linux builds, i.e. *signed*: bytes >= 0x80
  sort below ``\\x00`` (``[a-\\xff]`` is the range -1..97 and so excludes ``b``);
* past the end of the pattern Redis reads the sds terminator; this port reads a ``0`` byte
  there, which reproduces its handling of unterminated sets;
* Redis's ``skipLongerMatches`` cut-off (CVE-2022-36021) and its nesting limit: a match that
  would need to enter more than 1000 non-trailing ``*`` levels fails.

The recursion of the C code is replaced by one back-tracking point (the most recent ``*``),
which is exactly what ``skipLongerMatches`` reduces it to: once a nested ``*`` has tried every
position, every enclosing level gives up too.
"""

from __future__ import annotations

__all__ = ["matches"]

_MAX_NESTING = 1000


def _lower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


def _signed(c: int) -> int:
    return c - 256 if c >= 128 else c


def matches(pattern: bytes, name: bytes, nocase: bool = False) -> bool:
    """Return True when ``name`` matches the Redis glob ``pattern`` (``stringmatchlen``)."""
    p = pattern
    s = name
    plen = len(p)
    slen = len(s)

    def at(i: int) -> int:
        # Redis reads the sds terminator (0) one past the end.
        return p[i] if i < plen else 0

    pi = 0  # pattern index
    si = 0  # string index
    depth = 0  # nesting of the C call we are in
    # Back-tracking point of the innermost '*': pattern index after it, string index tried.
    star_p = -1
    star_s = -1

    while True:
        # ---- one C call body: while (patternLen && stringLen) -------------------------------
        failed = False
        while pi < plen and si < slen:
            c = p[pi]
            if c == 42:  # '*'
                while pi + 1 < plen and p[pi + 1] == 42:
                    pi += 1
                if pi == plen - 1:
                    return True
                if depth + 1 > _MAX_NESTING:
                    # Every nested call returns 0 at once; the loop runs out and
                    # skipLongerMatches makes all enclosing levels give up.
                    return False
                depth += 1
                star_p = pi + 1
                star_s = si
                pi += 1
                continue  # the nested call starts matching at (pi, si)
            elif c == 63:  # '?'
                si += 1
            elif c == 91:  # '['
                pi += 1
                negate = at(pi) == 94  # '^'
                if negate:
                    pi += 1
                matched = False
                sc = s[si]
                while True:
                    pc = at(pi)
                    if pc == 92 and plen - pi >= 2:  # '\\'
                        pi += 1
                        if p[pi] == sc:
                            matched = True
                    elif pc == 93:  # ']'
                        break
                    elif pi >= plen:
                        pi -= 1
                        break
                    elif plen - pi >= 3 and p[pi + 1] == 45:  # '-'
                        start = _signed(p[pi])
                        end = _signed(p[pi + 2])
                        cc = _signed(sc)
                        if start > end:
                            start, end = end, start
                        if nocase:
                            start = _lower(start)
                            end = _lower(end)
                            cc = _lower(cc)
                        pi += 2
                        if start <= cc <= end:
                            matched = True
                    else:
                        if nocase:
                            if _lower(pc) == _lower(sc):
                                matched = True
                        elif pc == sc:
                            matched = True
                    pi += 1
                if negate:
                    matched = not matched
                if not matched:
                    failed = True
                    break
                si += 1
            else:
                if c == 92 and plen - pi >= 2:  # '\\' escapes the next byte
                    pi += 1
                    c = p[pi]
                if nocase:
                    if _lower(c) != _lower(s[si]):
                        failed = True
                        break
                elif c != s[si]:
                    failed = True
                    break
                si += 1
            pi += 1
            if si == slen:
                while at(pi) == 42:
                    pi += 1
                break
        if not failed and pi >= plen and si == slen:
            return True
        # ---- this call returned 0 without skipLongerMatches: next position for the '*' ----
        if depth == 0:
            return False
        star_s += 1
        if star_s >= slen:
            # The '*' loop ran out of string: skipLongerMatches, everything fails.
            return False
        pi = star_p
        si = star_s
