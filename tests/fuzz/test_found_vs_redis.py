"""What the fuzzers found, pinned down: each case is a reply that once differed from Redis 7.0
(or raised), compared byte for byte with a real redis-server, in RESP2 and RESP3."""

from __future__ import annotations

import socket

import pytest

from server.harness.processes import ServerProcess
from tests.conftest import Differential
from tests.fuzz.fuzzkit import StrictConn, encode, read_until_close


def raw_replies(port: int, resp3: bool, *commands: tuple[bytes, ...]) -> list[bytes]:
    """The exact bytes of each reply (the lenient test client decodes error texts)."""
    conn = StrictConn(port, resp3=resp3)
    try:
        out = []
        for cmd in commands:
            reply = conn.call(*cmd)
            value = reply.value if isinstance(reply.value, bytes) else repr(reply.value).encode()
            out.append(reply.type.encode() + value)
        return out
    finally:
        conn.close()


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_unknown_command_echoes_non_utf8_bytes_as_sent(
    redis_ref: ServerProcess, activekv: ServerProcess, resp3: bool
) -> None:
    # Redis prints the name and arguments with %s: the bytes come back unchanged (we once
    # replaced them with U+FFFD)
    cmds = [(b"\x9c2%\xff", b"\xd2\x13\xfe", b"ok"), (b"caf\xc3", b"\x80"), (b"CLIENT", b"\xff\xfe")]
    ours = raw_replies(activekv.port, resp3, *cmds)
    assert ours == raw_replies(redis_ref.port, resp3, *cmds)
    assert b"\xff" in ours[0]


def test_swapdb_moves_a_hyperloglog(diff: Differential) -> None:
    # SWAPDB once looked an HLL's recreation up by its CRDT type name and raised KeyError
    diff.check_all((b"SELECT", b"0"), (b"PFADD", b"h", b"a", b"b", b"c"), (b"SET", b"s", b"x"),
                   (b"SWAPDB", b"0", b"1"), (b"SELECT", b"1"), (b"PFCOUNT", b"h"), (b"TYPE", b"h"),
                   (b"GET", b"s"), (b"PFADD", b"h", b"d"), (b"PFCOUNT", b"h"), (b"SELECT", b"0"),
                   (b"EXISTS", b"h"), (b"FLUSHALL",))


@pytest.mark.parametrize("timeout", [b"0.001", b"0.0001", b"1e-9", b"1e300",
                                     b"9223372036854776", b"-0.5", b"inf"])
def test_sub_millisecond_blocking_timeouts_round_up_as_redis(
    redis_ref: ServerProcess, activekv: ServerProcess, timeout: bytes
) -> None:
    # Redis 7.0.15 rounds a positive timeout up to a whole millisecond: BLPOP k 0.001 times out
    # at once. Truncating made it 0, "block forever", and the fuzzer's call hung.
    for cmd in ([b"BLPOP", b"fz:none", timeout], [b"BZMPOP", timeout, b"1", b"fz:none", b"MIN"],
                [b"BRPOPLPUSH", b"fz:none", b"fz:dst", timeout]):
        answers = []
        for port in (redis_ref.port, activekv.port):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(encode(cmd))
                answers.append(read_until_close(s, timeout=1.0, quiet=0.1))
        assert answers[0][0], (cmd, answers)  # answered (not blocked) by Redis
        assert answers[1] == answers[0], cmd


@pytest.mark.parametrize("byte", [b"\xad", b"\xff", b"\x80", b"x"])
def test_protocol_error_names_a_non_ascii_byte_as_sent(
    redis_ref: ServerProcess, activekv: ServerProcess, byte: bytes
) -> None:
    # "expected '$', got '<byte>'": Redis writes the byte itself (we once wrote its UTF-8
    # encoding, two bytes, for anything over 0x7f)
    data = b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\necho\r\n" + byte + b"\xd5\r\n"
    answers = []
    for port in (redis_ref.port, activekv.port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(data)
            answers.append(read_until_close(s, timeout=3.0, quiet=3.0))
    assert answers[0][1], answers  # Redis closed the connection after the error
    assert answers[1] == answers[0]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_argument_errors_echo_the_argument_as_sent(
    redis_ref: ServerProcess, activekv: ServerProcess, resp3: bool
) -> None:
    # Found by running the command fuzzer's calls against both servers: option and user
    # names in errors came back with U+FFFD for non-UTF-8 bytes; CLIENT UNBLOCK with too many
    # arguments has clientCommand's own message
    cmds = [(b"SET", b"fz:k", b"v"), (b"PEXPIRE", b"fz:k", b"5000", b"k:\xff\x00z"),
            (b"EXPIRE", b"fz:k", b"5", b"\xfe"), (b"ACL", b"DRYRUN", b"caf\xc3", b"get", b"k"),
            (b"CLIENT", b"UNBLOCK", b"1", b"TIMEOUT", b"x"), (b"client", b"Unblock", b"1", b"a", b"b"),
            (b"DEL", b"fz:k")]
    assert raw_replies(activekv.port, resp3, *cmds) == raw_replies(redis_ref.port, resp3, *cmds)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_xgroup_options_are_checked_before_the_key_and_acl_cat_stops_at_nul(
    redis_ref: ServerProcess, activekv: ServerProcess, resp3: bool
) -> None:
    cmds = [(b"XGROUP", b"SETID", b"fz:none", b"g", b"0", b"ENTRIESREAD", b"-0x"),
            (b"XGROUP", b"SETID", b"fz:none", b"g", b"$", b"NOPE", b"1"),
            (b"XGROUP", b"SETID", b"fz:none", b"g", b"$", b"ENTRIESREAD"),
            (b"XGROUP", b"CREATE", b"fz:none", b"g", b"$", b"ENTRIESREAD", b"x"),
            (b"XGROUP", b"CREATE", b"fz:none", b"g", b"$", b"a", b"b", b"c", b"d"),
            (b"XGROUP", b"SETID", b"fz:none", b"g", b"$", b"ENTRIESREAD", b"9223372036854775808", b"-0"),
            (b"XGROUP", b"SETID", b"fz:none", b"g", b"$", b"ENTRIESREAD", b"1", b"ENTRIESREAD", b"2"),
            (b"XGROUP", b"CREATE", b"fz:none", b"g", b"$", b"MKSTREAM", b"ENTRIESREAD", b"a", b"1"),
            (b"XGROUP", b"SETID", b"fz:none", b"g", b"$", b"MKSTREAM"),
            (b"ACL", b"CAT", b"\x00"), (b"ACL", b"CAT", b"ab\x00cd"), (b"ACL", b"CAT", b"\xff")]
    assert raw_replies(activekv.port, resp3, *cmds) == raw_replies(redis_ref.port, resp3, *cmds)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_wait_timeout_nogroup_names_xinfo_stream_key_and_latency_event_as_redis(
    redis_ref: ServerProcess, activekv: ServerProcess, resp3: bool
) -> None:
    # Found by sending the command fuzzer's calls to both servers (fuzz campaign): WAIT's
    # timeout has getTimeoutFromObjectOrReply's own message; NOGROUP and LATENCY GRAPH print
    # names with %s (up to a NUL, bytes as sent); XINFO STREAM looks the key up before it
    # reads FULL/COUNT
    cmds = [(b"WAIT", b"0", b"0.001"), (b"WAIT", b"0", b"9223372036854775808"), (b"WAIT", b"x", b"1.5"),
            (b"WAIT", b"0", b"-1"), (b"WAIT", b"0", b"1"),
            (b"DEL", b"fz:s"), (b"XADD", b"fz:s", b"1-1", b"f", b"v"),
            (b"XPENDING", b"fz:none", b"\x00"), (b"XPENDING", b"fz:s", b"g\x00h"),
            (b"XPENDING", b"fz:s", b"caf\xc3"), (b"XGROUP", b"CREATECONSUMER", b"fz:s", b"g\x00x", b"c"),
            (b"XREADGROUP", b"GROUP", b"g\x00x", b"c", b"STREAMS", b"fz:s", b">"),
            (b"XINFO", b"STREAM", b"fz:none", b"COUNT"), (b"XINFO", b"STREAM", b"fz:none", b"FULL", b"X", b"1"),
            (b"SET", b"fz:str", b"x"), (b"XINFO", b"STREAM", b"fz:str", b"COUNT", b"FULL", b"2"),
            (b"XINFO", b"STREAM", b"fz:s", b"COUNT"), (b"XINFO", b"STREAM", b"fz:s", b"FULL", b"COUNT", b"x"),
            (b"LATENCY", b"GRAPH", b"caf\xc3"), (b"LATENCY", b"GRAPH", b"a\x00b"),
            (b"DEL", b"fz:s", b"fz:str")]
    assert raw_replies(activekv.port, resp3, *cmds) == raw_replies(redis_ref.port, resp3, *cmds)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_script_errors_echo_the_script_as_sent_and_expire_trims_a_trailing_newline(
    redis_ref: ServerProcess, activekv: ServerProcess, resp3: bool
) -> None:
    # Lua's compile error quotes the script's bytes near the error, and the shebang and engine
    # errors the words: Redis prints them with %s (we once replaced non-UTF-8 bytes with
    # U+FFFD). addReplyErrorFormat trims CR/LF at the end of the message: EXPIRE's
    # unsupported option ends it
    cmds = [(b"SCRIPT", b"LOAD", b"\xff\xfe\x00\x80"), (b"SCRIPT", b"LOAD", b"x\xff"),
            (b"SCRIPT", b"LOAD", b"return 'a\nb"), (b"EVAL", b"return \xff", b"0"),
            (b"FUNCTION", b"LOAD", b"#!lua name=fzl\nredis.register_function('f', function() return \xff end)"),
            (b"FUNCTION", b"LOAD", b"#!lu\xff name=fzl\nreturn 1"),
            (b"FUNCTION", b"LOAD", b"#!lua name=fzl x\xff\nreturn 1"),
            (b"EVAL", b"#!lua fl\xffgs=no-writes\nreturn 1", b"0"), (b"EVAL", b"#!lua x\xff\nreturn 1", b"0"),
            (b"EVAL", b"#!lua flags=no-writes,n\xff\nreturn 1", b"0"), (b"EVAL", b"#!lu\xff\nreturn 1", b"0"),
            (b"SET", b"fz:k", b"v"), (b"EXPIREAT", b"fz:k", b"10", b"\r\n", b"NX"),
            (b"EXPIREAT", b"fz:k", b"10", b"a\r\nb\r\n"), (b"EXPIRE", b"fz:k", b"10", b"\r\nab\n"),
            (b"PEXPIRE", b"fz:k", b"10", b"ab\x00cd\n"), (b"DEL", b"fz:k")]
    assert raw_replies(activekv.port, resp3, *cmds) == raw_replies(redis_ref.port, resp3, *cmds)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_scan_cursors_end_at_a_nul_byte_as_redis(
    redis_ref: ServerProcess, activekv: ServerProcess, resp3: bool
) -> None:
    # parseScanCursorOrReply runs strtoul on the argument as a C string: "\0" is cursor 0,
    # "0\0x" too (found by sending the command fuzzer's calls to both servers: SCAN \0 2 ...)
    cmds = [(b"SELECT", b"9"), (b"FLUSHDB",), (b"SCAN", b"\x00"), (b"SCAN", b"0\x00x"),
            (b"SCAN", b"\x00", b"2", b"TYPE"), (b"SCAN", b"-\x00"), (b"SCAN", b"+\x00x"), (b"SCAN", b"\x001"),
            (b"SCAN", b" \x00"), (b"SCAN", b"1x\x00"), (b"HSET", b"fz:h", b"a", b"1"), (b"HSCAN", b"fz:h", b"\x00"),
            (b"SADD", b"fz:s", b"a"), (b"SSCAN", b"fz:s", b"0\x00junk"), (b"ZADD", b"fz:z", b"1", b"a"),
            (b"ZSCAN", b"fz:z", b"\x00\x00"), (b"SSCAN", b"fz:none", b"\x00"), (b"FLUSHDB",)]
    assert raw_replies(activekv.port, resp3, *cmds) == raw_replies(redis_ref.port, resp3, *cmds)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_function_client_hello_and_replconf_errors_echo_the_argument_as_redis(
    redis_ref: ServerProcess, activekv: ServerProcess, resp3: bool
) -> None:
    # Found by sending the command fuzzer's calls to both servers (FUNCTION LOAD \xff REPLACE,
    # FUNCTION LIST k:\xff): %s prints up to a NUL, the bytes as sent; where the argument ends
    # an addReplyErrorFormat message its trailing CR/LF is trimmed (FUNCTION LIST's sdscatfmt
    # keeps them, as spaces)
    cmds = [(b"FUNCTION", b"LOAD", b"\xff", b"REPLACE", b"x"), (b"FUNCTION", b"LOAD", b"a\x00b\r\n", b"x"),
            (b"FUNCTION", b"LOAD", b"ab\r\n", b"x"), (b"FUNCTION", b"LIST", b"\xff\xfe\x00\x80"),
            (b"FUNCTION", b"LIST", b"x\r\n"), (b"FUNCTION", b"LIST", b"WITHCODE", b"caf\xc3", b"x"),
            (b"CLIENT", b"LIST", b"TYPE", b"\xff"), (b"CLIENT", b"LIST", b"TYPE", b"a\x00b\r\n"),
            (b"CLIENT", b"KILL", b"USER", b"\xff\x00x"), (b"CLIENT", b"KILL", b"USER", b"a\r\n"),
            (b"HELLO", b"3", b"\xff"), (b"HELLO", b"3", b"a\x00b"), (b"HELLO", b"2", b"a\r\n"),
            (b"REPLCONF", b"\xff", b"x"), (b"REPLCONF", b"a\x00b\r\n", b"x"), (b"REPLCONF", b"ab\r\n", b"x")]
    assert raw_replies(activekv.port, resp3, *cmds) == raw_replies(redis_ref.port, resp3, *cmds)
