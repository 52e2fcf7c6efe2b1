"""LZF as Redis uses it (src/lzf_c.c and lzf_d.c, liblzf 3.6 with Redis's lzfP.h: HLOG 16,
VERY_FAST, offsets in the hash table).

``compress`` follows lzf_compress step for step — the hash, the literal runs, the match
search and its output-size checks — so the bytes are Redis's and a value Redis would store
uncompressed (the output does not fit in ``out_len``) is None here too. One difference is
unavoidable: Redis does not clear its hash table (INIT_HTAB 0), so a stale slot left by an
earlier compression can, rarely, offer it a match we do not see; both outputs decompress to
the same value.
"""

from __future__ import annotations

_HSIZE_MASK = (1 << 16) - 1
_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)


class LzfError(ValueError):
    pass


def compress(data: bytes, out_len: int) -> bytes | None:
    """lzf_compress into at most ``out_len`` bytes; None when it does not fit (Redis then
    stores the string as it is).

    The same decisions as lzf_c.c, computed with fewer Python steps: the hash value's low
    24 bits (all that IDX reads) are the three bytes at ``ip``; a literal run is emitted
    whole when it closes; ``size + 1 + lit`` is lzf_c.c's ``op`` for the output-size checks;
    the match length reproduces its unrolled loop (which may run past ``maxlen``)."""
    d = data
    in_len = len(d)
    if not in_len or not out_len:
        return None
    htab: dict[int, int] = {}
    get = htab.get
    out = bytearray()
    size = 0  # bytes emitted
    lit = 0  # literals in the open run
    lit_start = 0  # where the open run starts in the input
    ip = 0
    end = in_len - 2
    v = (d[0] << 8) | (d[1] if in_len > 1 else 0)
    while ip < end:
        v = ((v << 8) | d[ip + 2]) & 0xFFFFFF
        slot = ((v >> 8) - v * 5) & _HSIZE_MASK
        ref = get(slot, -1)
        htab[slot] = ip
        if (ref > 0 and ip - ref <= _MAX_OFF and d[ref] == d[ip] and d[ref + 1] == d[ip + 1]
                and d[ref + 2] == d[ip + 2]):
            op = size + 1 + lit
            if op + 4 >= out_len and op - (not lit) + 4 >= out_len:
                return None
            maxlen = min(in_len - ip - 2, _MAX_REF)
            # bytes that lzf_c.c may compare: its unrolled loop reads up to index 18
            lim = max(maxlen, 19) if maxlen > 16 else max(maxlen, 3)
            if lim > 3 and d[ref + 3 : ref + lim] == d[ip + 3 : ip + lim]:
                m = lim
            else:
                m = 3
                while m < lim and d[ref + m] == d[ip + m]:
                    m += 1
            if maxlen > 16:
                length = m if m <= 18 else (19 if maxlen <= 19 else min(m, maxlen))
            else:
                length = 3 if maxlen <= 3 else min(m, maxlen)
            if lit:
                out.append(lit - 1)
                out += d[lit_start:ip]
                size += lit + 1
                lit = 0
            off = ip - ref - 1
            length -= 2  # octets - 1
            if length < 7:
                out.append((off >> 8) + (length << 5))
                size += 2
            else:
                out.append((off >> 8) + (7 << 5))
                out.append(length - 7)
                size += 3
            out.append(off & 0xFF)
            ip += length + 2
            if ip >= end:
                break
            ip -= 2  # VERY_FAST: hash the last two positions of the match
            v = (d[ip] << 16) | (d[ip + 1] << 8) | d[ip + 2]
            htab[((v >> 8) - v * 5) & _HSIZE_MASK] = ip
            ip += 1
            v = ((v << 8) | d[ip + 2]) & 0xFFFFFF
            htab[((v >> 8) - v * 5) & _HSIZE_MASK] = ip
            ip += 1
        else:
            if size + 1 + lit >= out_len:
                return None
            if not lit:
                lit_start = ip
            lit += 1
            ip += 1
            if lit == _MAX_LIT:
                out.append(_MAX_LIT - 1)
                out += d[lit_start:ip]
                size += _MAX_LIT + 1
                lit = 0
    if size + 1 + lit + 3 > out_len:
        return None
    while ip < in_len:  # the last bytes: literals, without further checks
        if not lit:
            lit_start = ip
        take = min(_MAX_LIT - lit, in_len - ip)
        lit += take
        ip += take
        if lit == _MAX_LIT:
            out.append(_MAX_LIT - 1)
            out += d[lit_start:ip]
            size += _MAX_LIT + 1
            lit = 0
    if lit:
        out.append(lit - 1)
        out += d[lit_start:ip]
    return bytes(out)


def decompress(data: bytes, out_len: int) -> bytes:
    """lzf_decompress; LzfError unless the data decodes to exactly ``out_len`` bytes. An
    ``out_len`` of 0 is the empty string whatever the data (Redis compares lzf_decompress's
    result, 0 on any error, with the length it expects: 0)."""
    if not out_len:
        return b""
    out = bytearray()
    ip = 0
    n = len(data)
    while ip < n:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:  # literal run
            ctrl += 1
            if len(out) + ctrl > out_len or ip + ctrl > n:
                raise LzfError("bad literal run")
            out += data[ip : ip + ctrl]
            ip += ctrl
            continue
        length = ctrl >> 5
        if ip >= n:
            raise LzfError("truncated back reference")
        if length == 7:
            length += data[ip]
            ip += 1
            if ip >= n:
                raise LzfError("truncated back reference")
        start = len(out) - ((ctrl & 0x1F) << 8) - 1 - data[ip]
        ip += 1
        length += 2
        if len(out) + length > out_len or start < 0:
            raise LzfError("bad back reference")
        if start + length <= len(out):
            out += out[start : start + length]
        else:  # overlapping (lzf_d.c copies byte by byte): the period repeats
            period = out[start:]
            out += (period * (length // len(period) + 1))[:length]
    if len(out) != out_len:
        raise LzfError("length mismatch")
    return bytes(out)
