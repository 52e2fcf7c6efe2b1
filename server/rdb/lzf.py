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
_M32 = 0xFFFFFFFF
_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)


class LzfError(ValueError):
    pass


def compress(data: bytes, out_len: int) -> bytes | None:
    """lzf_compress into at most ``out_len`` bytes; None when it does not fit (Redis then
    stores the string as it is)."""
    d = data
    in_len = len(d)
    if not in_len or not out_len:
        return None
    htab: dict[int, int] = {}
    out = bytearray(out_len + 8)
    ip = 0
    lit = 0
    op = 1  # start run
    hval = (d[0] << 8) | (d[1] if in_len > 1 else 0)
    while ip < in_len - 2:
        hval = ((hval << 8) | d[ip + 2]) & _M32
        slot = ((hval >> 8) - hval * 5) & _HSIZE_MASK
        ref = htab.get(slot, -1)
        htab[slot] = ip
        off = ip - ref - 1
        if (ref > 0 and off < _MAX_OFF and d[ref + 2] == d[ip + 2]
                and d[ref] == d[ip] and d[ref + 1] == d[ip + 1]):
            length = 2
            maxlen = min(in_len - ip - length, _MAX_REF)
            if op + 3 + 1 >= out_len and op - (not lit) + 3 + 1 >= out_len:
                return None
            out[op - lit - 1] = (lit - 1) & 0xFF  # stop run
            op -= not lit  # undo run if length is zero
            mismatch = False
            if maxlen > 16:  # lzf_c.c's unrolled loop: 16 checked steps
                for _ in range(16):
                    length += 1
                    if d[ref + length] != d[ip + length]:
                        mismatch = True
                        break
            if not mismatch:
                length += 1
                while length < maxlen and d[ref + length] == d[ip + length]:
                    length += 1
            length -= 2  # octets - 1
            ip += 1
            if length < 7:
                out[op] = (off >> 8) + (length << 5)
                op += 1
            else:
                out[op] = (off >> 8) + (7 << 5)
                out[op + 1] = length - 7
                op += 2
            out[op] = off & 0xFF
            op += 2  # and start a run
            lit = 0
            ip += length + 1
            if ip >= in_len - 2:
                break
            ip -= 2  # VERY_FAST: hash the last two positions of the match
            hval = (d[ip] << 8) | d[ip + 1]
            hval = ((hval << 8) | d[ip + 2]) & _M32
            htab[((hval >> 8) - hval * 5) & _HSIZE_MASK] = ip
            ip += 1
            hval = ((hval << 8) | d[ip + 2]) & _M32
            htab[((hval >> 8) - hval * 5) & _HSIZE_MASK] = ip
            ip += 1
        else:
            if op >= out_len:
                return None
            out[op] = d[ip]
            op += 1
            ip += 1
            lit += 1
            if lit == _MAX_LIT:
                out[op - lit - 1] = lit - 1
                lit = 0
                op += 1
    if op + 3 > out_len:
        return None
    while ip < in_len:
        out[op] = d[ip]
        op += 1
        ip += 1
        lit += 1
        if lit == _MAX_LIT:
            out[op - lit - 1] = lit - 1
            lit = 0
            op += 1
    out[op - lit - 1] = (lit - 1) & 0xFF  # end run
    op -= not lit
    return bytes(out[:op])


def decompress(data: bytes, out_len: int) -> bytes:
    """lzf_decompress; LzfError unless the data decodes to exactly ``out_len`` bytes."""
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
