"""A command fuzzer against a real activekv-server process (issue 15, "Faults").

Every command and subcommand of ``server/command_spec.json`` (but the few that stop the
server or take the connection over: ``cmdgen.EXCLUDED``) is called, in RESP2 and RESP3, with
arguments made from its own ``COMMAND DOCS`` entry and then damaged: huge and negative counts,
0, -1, 2^63-1, -2^63, 2^64, inf, -inf, nan, empty strings, non-UTF-8 bytes, keys of every type
(the WRONGTYPE paths), options in random order, words dropped or added. Blocking commands get
short timeouts. The keys are recreated every few calls (FLUSHALL and SWAPDB are fuzzed too).

It asserts that every reply is valid RESP of the connection's protocol, that no call is
answered with our "unexpected error" reply or hangs, that the server never drops the
connection on its own, and at the end that the server answers PING, INFO's
``unexpected_errors`` is 0 and its log holds no traceback. Bounded by ``fuzzkit.count`` and
``fuzzkit.budget``; ``FUZZ_SEED=<n>`` in every failure replays it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv
from tests.fuzz import fuzzkit
from tests.fuzz.cmdgen import Generator
from tests.fuzz.fuzzkit import Closed, StrictConn
from tests.fuzz.strictresp import BadReply, Value

KEYS = [b"k:str", b"k:int", b"k:float", b"k:list", b"k:hash", b"k:set", b"k:intset", b"k:zset",
        b"k:stream", b"k:hll", b"k:geo", b"k:bits", b"k:missing", b"{k}:a", b"k:\xff"]
SETUP: list[tuple[bytes, ...]] = [
    (b"SELECT", b"0"),
    (b"FLUSHALL",),
    (b"SET", b"k:str", b"hello"),
    (b"SET", b"k:int", b"42"),
    (b"SET", b"k:float", b"1.5"),
    (b"RPUSH", b"k:list", b"a", b"b", b"c", b"1", b"m1"),
    (b"HSET", b"k:hash", b"f1", b"1", b"f2", b"x"),
    (b"SADD", b"k:set", b"a", b"m1", b"m2"),
    (b"SADD", b"k:intset", b"1", b"2", b"3"),
    (b"ZADD", b"k:zset", b"1", b"m1", b"2.5", b"m2", b"-inf", b"a"),
    (b"XADD", b"k:stream", b"1-1", b"f1", b"v1"),
    (b"XADD", b"k:stream", b"2-1", b"f2", b"v2"),
    (b"XGROUP", b"CREATE", b"k:stream", b"g1", b"0"),
    (b"XREADGROUP", b"GROUP", b"g1", b"c1", b"COUNT", b"1", b"STREAMS", b"k:stream", b">"),
    (b"PFADD", b"k:hll", b"a", b"b"),
    (b"GEOADD", b"k:geo", b"13.361389", b"38.115556", b"m1", b"15.087269", b"37.502669", b"m2"),
    (b"SETBIT", b"k:bits", b"7", b"1"),
    (b"FUNCTION", b"FLUSH"),
    (b"FUNCTION", b"LOAD", b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
]
UNSUBSCRIBE = {"unsubscribe", "punsubscribe", "sunsubscribe"}
MAY_CLOSE = {"quit", "client|kill"}  # the only calls after which a close is the right answer


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    # A server for each run: the fuzzed CONFIG SET, CLIENT TRACKING, ACL and script calls
    # outlive FLUSHALL, so a run on a server another seed had fuzzed first would not be
    # replayed by its own FUZZ_SEED (each run draws its own seed in make test)
    with start_activekv("--enable-debug-command", "yes") as proc:
        yield proc


def setup_keys(port: int) -> None:
    conn = StrictConn(port)
    try:
        for cmd in SETUP:
            reply = conn.call(*cmd)
            assert reply.type != "-", (cmd, reply)
    finally:
        conn.close()


class Session:
    """The fuzzing connection: reopened (same protocol) when a call legitimately closes it."""

    def __init__(self, port: int, resp3: bool) -> None:
        self.port = port
        self.want_resp3 = resp3
        self.conn = StrictConn(port, resp3=resp3)
        self.in_multi = False  # calls are queued: one reply each
        self.queued_hello = False

    def reopen(self) -> None:
        self.conn.close()
        self.conn = StrictConn(self.port, resp3=self.want_resp3)
        self.in_multi = False
        self.queued_hello = False

    def call(self, name: str, argv: list[bytes]) -> list[Value]:
        conn = self.conn
        conn.send(fuzzkit.encode(argv))
        queued = self.in_multi and name not in ("exec", "discard", "multi", "watch", "reset", "quit")
        expect = max(1, len(argv) - 1) if name in UNSUBSCRIBE and not queued else 1
        was = conn.resp3
        hello = name == "hello" and len(argv) > 1 and argv[1] in (b"2", b"3") and not queued
        self.queued_hello |= queued and name == "hello"
        if hello or (name == "exec" and self.queued_hello):
            conn.resp3 = True  # its reply is in the protocol asked for (RESP3 parses both)
        replies: list[Value] = []
        while len(replies) < expect:
            reply = conn.reply(timeout=5.0)
            if reply.type == ">" and not (
                name in UNSUBSCRIBE and not queued and reply.value and reply.value[0].value == name.encode()
            ):
                continue  # an invalidation push (CLIENT TRACKING was fuzzed on)
            replies.append(reply)
            if reply.type in "+-":  # QUEUED in a transaction, or refused: one reply only
                break
        if name == "multi" and replies[0] == Value("+", b"OK"):
            self.in_multi = True
        elif name == "exec" or (name in ("discard", "reset") and replies[0].type != "-"):
            self.in_multi = False
        if name == "exec" and self.queued_hello:
            self.reopen()  # whatever protocol the EXEC left, start again from a known one
        elif hello:
            conn.resp3 = argv[1] == b"3" if replies[0].type != "-" else was
        elif name == "reset":
            conn.resp3 = False
        return replies


def run(server: ServerProcess, resp3: bool, seed: int, seconds: float, rounds: int) -> int:
    rng = random.Random(seed)
    gen = Generator(rng, KEYS)
    leaves = gen.leaves()
    session = Session(server.port, resp3)
    deadline = fuzzkit.budget(seconds)
    failures: list[str] = []
    calls = 0
    recent: list[list[bytes]] = []
    try:
        for _ in range(rounds):
            rng.shuffle(leaves)
            for i, spec in enumerate(leaves):
                if time.monotonic() > deadline:
                    break
                if i % 25 == 0:
                    setup_keys(server.port)
                argv = gen.argv(spec)
                recent = [*recent[-3:], argv]
                context = f"FUZZ_SEED={seed} RESP{3 if resp3 else 2} {argv!r} (after {recent[:-1]!r})"
                calls += 1
                try:
                    replies = session.call(spec.name, argv)
                except Closed:
                    if spec.name not in MAY_CLOSE:
                        failures.append(f"{context}: the server closed the connection")
                    session.reopen()
                    continue
                except (TimeoutError, BadReply) as exc:
                    failures.append(f"{context}: {type(exc).__name__}: {exc}")
                    session.reopen()
                    continue
                for reply in replies:
                    if reply.type == "-" and b"unexpected error" in reply.value:
                        failures.append(f"{context}: {reply.value.decode('utf-8', 'replace')}")
                if spec.name in MAY_CLOSE or session.conn.resp3 != resp3:
                    session.reopen()  # closed (once the reply is read), or back to this run's protocol
    finally:
        session.conn.close()
    assert not failures, "\n".join(failures[:30])
    return calls


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_every_command_with_random_and_boundary_arguments(server: ServerProcess, resp3: bool) -> None:
    seed = fuzzkit.seed()
    calls = run(server, resp3, seed, seconds=8, rounds=fuzzkit.count(3))
    assert calls > 200, f"FUZZ_SEED={seed}: only {calls} calls"
    fuzzkit.assert_healthy(server, f"FUZZ_SEED={seed}")
