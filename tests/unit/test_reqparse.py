"""RequestReader: Redis 7.0 request parsing, pure (no sockets).

Expected values come from a real redis-server 7.0.15 (see tests/compat for the live check).
"""

from __future__ import annotations

import random

import pytest

from server.reqparse import ProtocolError, QueryBufferLimit, RequestReader, splitargs


def resp(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def feed_all(data: bytes, **kw: object) -> list[list[bytes]]:
    return RequestReader(**kw).feed(data)  # type: ignore[arg-type]


def feed_bytewise(data: bytes, **kw: object) -> list[list[bytes]]:
    r = RequestReader(**kw)  # type: ignore[arg-type]
    out: list[list[bytes]] = []
    for i in range(len(data)):
        out += r.feed(data[i : i + 1])
    return out


def error_of(data: bytes, chunks: int = 1, **kw: object) -> ProtocolError:
    """The error; its ``all_commands``: every command returned before it, in order."""
    r = RequestReader(**kw)  # type: ignore[arg-type]
    done: list[list[bytes]] = []
    with pytest.raises(ProtocolError) as ei:
        step = max(1, len(data) // chunks)
        for i in range(0, len(data), step):
            done += r.feed(data[i : i + step])
    ei.value.all_commands = done + ei.value.commands  # type: ignore[attr-defined]
    return ei.value


# -- well-formed input ------------------------------------------------------------------

PIPELINE = (
    resp(b"SET", b"key", b"va\r\nl\r\n")
    + resp(b"GET", b"key")
    + b"PING\r\n"
    + resp(b"ECHO", b"\x00\xff" * 70)
    + b"*0\r\n*-1\r\n"
    + b'ECHO "a b" \'c\'\n'
    + resp(b"MSET", *[b"k%d" % i for i in range(120)])
    + b"\r\n"
    + resp(b"EMPTY", b"")
    + resp(b"BIG", b"z" * 1234)
)
PIPELINE_CMDS = [
    [b"SET", b"key", b"va\r\nl\r\n"],
    [b"GET", b"key"],
    [b"PING"],
    [b"ECHO", b"\x00\xff" * 70],
    [b"ECHO", b"a b", b"c"],
    [b"MSET", *[b"k%d" % i for i in range(120)]],
    [b"EMPTY", b""],
    [b"BIG", b"z" * 1234],
]


def test_pipeline_whole() -> None:
    r = RequestReader()
    assert r.feed(PIPELINE) == PIPELINE_CMDS
    assert r.pending_bytes() == 0


def test_pipeline_one_byte_at_a_time() -> None:
    assert feed_bytewise(PIPELINE) == PIPELINE_CMDS


def test_pipeline_split_at_every_boundary() -> None:
    for i in range(len(PIPELINE) + 1):
        r = RequestReader()
        assert r.feed(PIPELINE[:i]) + r.feed(PIPELINE[i:]) == PIPELINE_CMDS, i


def test_random_streams_any_chunking() -> None:
    rng = random.Random(7)
    for _ in range(40):
        stream = b""
        expected: list[list[bytes]] = []
        for _ in range(rng.randrange(1, 12)):
            kind = rng.random()
            if kind < 0.7:
                args = [rng.randbytes(rng.choice([0, 1, 5, 12, 200])) for _ in range(rng.randrange(1, 6))]
                stream += resp(*args)
                expected.append(args)
            elif kind < 0.9:
                words = [b"w%d" % rng.randrange(1000) for _ in range(rng.randrange(1, 4))]
                stream += b" ".join(words) + rng.choice([b"\r\n", b"\n"])
                expected.append(words)
            else:
                stream += rng.choice([b"*0\r\n", b"*-1\r\n", b"\r\n", b"\n", b"  \t\r\n"])
        r = RequestReader()
        got: list[list[bytes]] = []
        i = 0
        while i < len(stream):
            j = i + rng.randrange(1, 40)
            got += r.feed(stream[i:j])
            i = j
        assert got == expected
        assert r.pending_bytes() == 0


def test_empty_and_negative_multibulk_ignored() -> None:
    assert feed_all(b"*0\r\n*-1\r\n*-5\r\n*-9223372036854775808\r\nPING\r\n") == [[b"PING"]]


def test_binary_safe_bulk_with_crlf_inside() -> None:
    payload = b"\r\n*1\r\n$3\r\nfoo\r\n\x00\n\r"
    assert feed_all(resp(b"SET", b"k", payload)) == [[b"SET", b"k", payload]]
    assert feed_bytewise(resp(b"SET", b"k", payload)) == [[b"SET", b"k", payload]]


def test_large_bulk_in_chunks() -> None:
    big = bytes(range(256)) * 4000  # ~1 MB, over the Python-path threshold
    data = resp(b"SET", b"k", big) + resp(b"GET", b"k")
    r = RequestReader()
    got: list[list[bytes]] = []
    for i in range(0, len(data), 65536):
        got += r.feed(data[i : i + 65536])
        if 0 < i < len(big) - 65536:
            # the pending data of the big argument (only), held once: not also by hiredis
            assert r.pending_bytes() == i + 65536 - len(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1024000\r\n")
            assert r._reader is None
    assert got == [[b"SET", b"k", big], [b"GET", b"k"]]


def test_redis_skips_bytes_after_cr_and_after_bulk_data() -> None:
    # The header line ends at '\r', the next byte is skipped unchecked; so are the two
    # bytes after bulk data.
    assert feed_all(b"*1\r\n$4\rXPING\r\n") == [[b"PING"]]
    assert feed_all(b"*1\rX$4\r\nPING\r\n") == [[b"PING"]]
    assert feed_all(b"*1\r\n$4\r\nPINGxyPING\r\n") == [[b"PING"], [b"PING"]]


def test_nul_hides_line_end() -> None:
    # strchr() stops at NUL: the request waits (and finally is too big).
    r = RequestReader()
    assert r.feed(b"ECHO a\0b\r\nPING\r\n") == []
    assert r.feed(b"*1\r\n$4\r\nPING\r\n") == []
    r = RequestReader()
    assert r.feed(b"*1\0\r\n$4\r\nPING\r\n") == []
    assert error_of(b"ECHO a\0b\r\n" + b"x" * 70000).message == "ERR Protocol error: too big inline request"


def test_non_array_resp_types_are_inline() -> None:
    # A request not starting with '*' is inline whatever hiredis would make of it.
    assert feed_all(b"~1\r\n$1\r\na\r\n") == [[b"~1"], [b"$1"], [b"a"]]
    assert feed_all(b"+PING\r\n:1\r\n") == [[b"+PING"], [b":1"]]
    assert feed_bytewise(b"%1\r\n$1\r\na\r\n") == [[b"%1"], [b"$1"], [b"a"]]


# -- inline requests ---------------------------------------------------------------------

INLINE = [
    (b"PING", [b"PING"]),
    (b"  ECHO   a\tb  ", [b"ECHO", b"a", b"b"]),
    (b'ECHO "a b"', [b"ECHO", b"a b"]),
    (b"ECHO 'a\\'b'", [b"ECHO", b"a'b"]),
    (b'ECHO "\\x41\\x4g\\q\\n"', [b"ECHO", b"Ax4gq\n"]),
    (b'ECHO "\\r\\t\\b\\a\\\\\\""', [b"ECHO", b'\r\t\b\a\\"']),
    (b'ECHO "\\xZZ"', [b"ECHO", b"xZZ"]),
    (b"ECHO '\\\"'", [b"ECHO", b'\\"']),
    (b"ECHO ''", [b"ECHO", b""]),
    (b'ECHO x"a b"', [b"ECHO", b"xa b"]),
    (b"ECHO a\vb", [b"ECHO", b"a\vb"]),
    (b"\vECHO\fa", [b"ECHO\fa"]),
    (b'ECHO "a"\v', [b"ECHO", b"a"]),
    (b'ECHO "a"\t', [b"ECHO", b"a"]),
    (b"ECHO \xff\x80", [b"ECHO", b"\xff\x80"]),
]


@pytest.mark.parametrize("line,expected", INLINE)
def test_inline_splitting(line: bytes, expected: list[bytes]) -> None:
    assert splitargs(line) == expected
    assert feed_all(line + b"\r\n") == [expected]
    assert feed_bytewise(line + b"\n") == [expected]


@pytest.mark.parametrize(
    "line", [b'ECHO "a"b', b'ECHO "a', b"ECHO 'a", b"ECHO 'a'b", b'ECHO """"', b'ECHO "\\', b'ECHO x"a b"y']
)
def test_inline_unbalanced_quotes(line: bytes) -> None:
    assert splitargs(line) is None
    e = error_of(b"PING\r\n" + line + b"\r\nPING\r\n")
    assert e.message == "ERR Protocol error: unbalanced quotes in request"
    assert e.commands == [[b"PING"]]


def test_inline_line_endings() -> None:
    assert feed_all(b"PING\nPING\r\r\n\r\n\n   \r\n") == [[b"PING"], [b"PING"]]


def test_mixed_inline_and_resp() -> None:
    data = b"PING\r\n" + resp(b"GET", b"a") + b"SET b 1\n" + resp(b"GET", b"b") + b"QUIT\r\n"
    cmds = [[b"PING"], [b"GET", b"a"], [b"SET", b"b", b"1"], [b"GET", b"b"], [b"QUIT"]]
    assert feed_all(data) == cmds
    assert feed_bytewise(data) == cmds


# -- protocol errors -----------------------------------------------------------------------

ERRORS = [
    (b"*x\r\n", "invalid multibulk length"),
    (b"*01\r\n", "invalid multibulk length"),
    (b"*+1\r\n", "invalid multibulk length"),
    (b"*-0\r\n", "invalid multibulk length"),
    (b"*1 \r\n", "invalid multibulk length"),
    (b"*2147483648\r\n", "invalid multibulk length"),
    (b"*" + b"9" * 20 + b"\r\n", "invalid multibulk length"),
    (b"*1\r\n$x\r\n", "invalid bulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$-0\r\n", "invalid bulk length"),
    (b"*1\r\n$01\r\nx\r\n", "invalid bulk length"),
    (b"*1\r\n$+1\r\nx\r\n", "invalid bulk length"),
    (b"*1\r\n$536870913\r\n", "invalid bulk length"),
    (b"*1\r\n$2000000000\r\n", "invalid bulk length"),
    (b"*1\r\n+PING\r\n", "expected '$', got '+'"),
    (b"*1\r\n:5\r\n", "expected '$', got ':'"),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n:5\r\n", "expected '$', got ':'"),
    (b"*1\r\n*1\r\n$1\r\na\r\n", "expected '$', got '*'"),
    (b"*1\r\n\r\n", "expected '$', got ' '"),
    (b"*1\r\n\n\r\n", "expected '$', got ' '"),
    (b"*1\r\n\xff\r\n", "expected '$', got '\udcff'"),  # the raw byte (surrogateescape)
    (b"x" * 65537, "too big inline request"),
    (b"*" + b"1" * 70000, "too big mbulk count string"),
    (b"*1\r\n" + b"x" * 65537, "too big bulk count string"),
    (b"*1\r" + b"x" * 70000, "too big bulk count string"),
]


@pytest.mark.parametrize("data,what", ERRORS)
def test_protocol_errors(data: bytes, what: str) -> None:
    msg = "ERR Protocol error: " + what
    e = error_of(data)
    assert e.message == msg
    assert not isinstance(e, QueryBufferLimit)
    # Commands before the error come with it, whatever the chunking.
    prefix = resp(b"PING") + b"ECHO hi\r\n" + resp(b"GET", b"k")
    before = [[b"PING"], [b"ECHO", b"hi"], [b"GET", b"k"]]
    for chunks in (1, 3, 50):
        e = error_of(prefix + data, chunks=chunks)
        assert e.message == msg
        assert e.all_commands == before  # type: ignore[attr-defined]


def test_error_commands_kept_in_same_feed() -> None:
    e = error_of(resp(b"PING") + resp(b"ECHO", b"x") + b"*1\r\n$-3\r\n")
    assert e.commands == [[b"PING"], [b"ECHO", b"x"]]
    assert e.message_bytes == b"ERR Protocol error: invalid bulk length"


def test_limits_are_exact() -> None:
    r = RequestReader()
    assert r.feed(b"x" * 65536) == []  # not more than 64 KiB yet
    r = RequestReader()
    assert r.feed(b"*1\r\n" + b"x" * 65536) == []
    r = RequestReader()
    assert r.feed(b"*2147483647\r\n") == []  # INT_MAX is fine (Redis 7.0): waits for data
    assert r.pending_bytes() == 0
    r = RequestReader()
    assert r.feed(b"*1\r\n$536870912\r\n") == []  # == proto-max-bulk-len: waits


def test_huge_declared_length_rejected_before_data() -> None:
    r = RequestReader()
    assert r.feed(resp(b"PING")) == [[b"PING"]]
    assert r.feed(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n") == []
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        r.feed(b"$600000000\r\n")
    with pytest.raises(ProtocolError):  # a failed reader stays failed
        r.feed(b"PING\r\n")


def test_proto_max_bulk_len_is_settable() -> None:
    r = RequestReader()
    r.proto_max_bulk_len = 10
    assert r.feed(resp(b"ECHO", b"x" * 10)) == [[b"ECHO", b"x" * 10]]
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        r.feed(resp(b"ECHO", b"x" * 11))
    assert error_of(b"*1\r\n$11\r\n", proto_max_bulk_len=10).message.endswith("invalid bulk length")


def test_big_multibulk_count_does_not_allocate() -> None:
    # hiredis would preallocate a 16 GB list for this; we must stay cheap and exact.
    r = RequestReader()
    assert r.feed(b"*2000000000\r\n$4\r\nPING\r\n") == []
    assert r.pending_bytes() == 0
    r = RequestReader()
    args = [b"%d" % i for i in range(1_000_000)]
    data = resp(*args)
    got: list[list[bytes]] = []
    for i in range(0, len(data), 1 << 20):
        got += r.feed(data[i : i + (1 << 20)])
    assert got == [args]


# -- authentication limits -------------------------------------------------------------


def test_unauthenticated_limits() -> None:
    r = RequestReader()
    r.requires_auth = True
    assert r.feed(resp(*[b"a"] * 10)) == [[b"a"] * 10]
    assert r.feed(resp(b"ECHO", b"x" * 16384)) == [[b"ECHO", b"x" * 16384]]
    assert r.feed(b"ECHO " + b"x" * 20000 + b"\r\n") == [[b"ECHO", b"x" * 20000]]  # inline: no limit
    r2 = RequestReader()
    r2.requires_auth = True
    with pytest.raises(ProtocolError) as ei:
        r2.feed(b"*11\r\n")
    assert ei.value.message == "ERR Protocol error: unauthenticated multibulk length"
    r3 = RequestReader()
    r3.requires_auth = True
    with pytest.raises(ProtocolError) as ei:
        r3.feed(b"*10\r\n$16385\r\n")
    assert ei.value.message == "ERR Protocol error: unauthenticated bulk length"
    r4 = RequestReader()
    r4.requires_auth = True
    with pytest.raises(ProtocolError, match="invalid multibulk length"):
        r4.feed(b"*11x\r\n")  # syntax is checked first
    r5 = RequestReader()  # no password required: no such limits
    assert r5.feed(resp(*[b"a"] * 11)) == [[b"a"] * 11]


@pytest.mark.parametrize("big", [resp(*[b"a"] * 11), resp(b"SET", b"k", b"v" * 20000)])
def test_auth_then_big_command_in_one_pipeline(big: bytes) -> None:
    # Redis runs AUTH before parsing the next command, so its limit no longer applies.
    for chunked in (False, True):
        r = RequestReader()
        r.requires_auth = True
        data = resp(b"AUTH", b"pw") + big + resp(b"PING")
        if chunked:
            cmds = r.feed(data[:20]) + r.feed(data[20:])
        else:
            cmds = r.feed(data)
        assert cmds == [[b"AUTH", b"pw"]]
        assert r.deferred
        r.requires_auth = False  # AUTH succeeded
        assert r.feed(b"") == [RequestReader().feed(big)[0], [b"PING"]]
        assert not r.deferred
    # ... and when AUTH failed, the error comes on the next feed.
    r = RequestReader()
    r.requires_auth = True
    assert r.feed(resp(b"AUTH", b"bad") + big) == [[b"AUTH", b"bad"]]
    with pytest.raises(ProtocolError, match="unauthenticated"):
        r.feed(b"")


# -- query buffer limit ------------------------------------------------------------------


def test_query_buffer_limit_big_argument() -> None:
    limit = 100_000
    # An argument of limit-2 bytes fits (Redis keeps "<data>\r\n" in its buffer) ...
    ok = resp(b"SET", b"k", b"v" * (limit - 2))
    assert feed_all(ok, query_buffer_limit=limit) == [[b"SET", b"k", b"v" * (limit - 2)]]
    # ... one more byte does not, whether it arrives at once or in pieces.
    bad = resp(b"PING") + resp(b"SET", b"k", b"v" * (limit - 1))
    for chunks in (1, 7, 100):
        e = error_of(bad, chunks=chunks, query_buffer_limit=limit)
        assert isinstance(e, QueryBufferLimit)
        assert e.all_commands == [[b"PING"]]  # type: ignore[attr-defined]
    # Several arguments each under the limit are fine (parsed ones leave the buffer).
    many = resp(b"MSET", b"a", b"x" * 80_000, b"b", b"y" * 80_000)
    r = RequestReader(query_buffer_limit=limit)
    got: list[list[bytes]] = []
    for i in range(0, len(many), 4096):
        got += r.feed(many[i : i + 4096])
    assert got == [[b"MSET", b"a", b"x" * 80_000, b"b", b"y" * 80_000]]


def test_query_buffer_limit_pending_bytes() -> None:
    r = RequestReader(query_buffer_limit=1000)
    assert r.feed(b"*1\r\n$5000\r\n" + b"x" * 900) == []
    assert r.pending_bytes() == 900
    with pytest.raises(QueryBufferLimit):
        r.feed(b"x" * 101)


def test_pending_bytes_counts_unparsed_only() -> None:
    r = RequestReader()
    r.feed(b"*2\r\n$3\r\nGET\r\n$3\r\nab")
    assert r.pending_bytes() == 2  # GET is parsed; "$3\r\n" too
    r.feed(b"c\r\n")
    assert r.pending_bytes() == 0


def test_splitargs_stops_at_nul_like_a_c_string() -> None:
    """The config file shares this splitter; a NUL must end the line, not hang the loop."""
    from server.reqparse import splitargs

    assert splitargs(b" \x00''\t") == []
    assert splitargs(b"a b\x00c d") == [b"a", b"b"]
    assert splitargs(b'"open\x00"') is None
