"""A RESP protocol fuzzer against a real activekv-server process (issue 15, "Faults").

Random and mutated RESP2/RESP3 frames and inline commands — truncated, huge and negative
lengths, bad type bytes, nested aggregates, binary junk, one byte per write, frames split
across TCP writes — sent on fresh connections. For every input:

* whatever the server sends back is a sequence of valid RESP replies (``strictresp``);
* the same bytes sent to a real redis-server get the same answer: the same replies and the
  same ``-ERR Protocol error: ...`` text, and the connection is closed exactly when Redis
  closes it (after the error reply, never before);
* afterwards the server still answers PING, INFO's ``unexpected_errors`` is 0 and its log
  holds no traceback.

Bounded: ``fuzzkit.count``/``fuzzkit.budget`` (``FUZZ_SCALE``); the seed is printed on failure.
Replies that depend on the server's state are avoided: the inputs only use commands whose
answers are the same on both servers (PING, ECHO, and unknown commands).
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.fuzz import fuzzkit
from tests.fuzz.fuzzkit import encode, read_until_close

WORDS = [b"PING", b"ECHO", b"ping", b"echo", b"NOSUCH", b"Ping"]
JUNK_TYPES = b"!#%()+,-.:=>?@_|~\x00\xff"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with start_redis() as ref, start_activekv() as ours:
        yield ref, ours


def valid_command(rng: random.Random) -> bytes:
    word = rng.choice(WORDS)
    nargs = 0 if word.lower() == b"ping" and rng.random() < 0.5 else 1
    if word.lower() == b"nosuch":
        nargs = rng.randint(0, 3)
    args = [word] + [rand_bytes(rng, rng.choice([0, 1, 5, 40])) for _ in range(nargs)]
    if rng.random() < 0.3:
        return inline(rng, args)
    return encode(args)


def inline(rng: random.Random, args: list[bytes]) -> bytes:
    """An inline command: words separated by spaces, some quoted (``"..."`` with escapes)."""
    parts = []
    for a in args:
        if a and all(32 < c < 127 and c not in b"\"'\\" for c in a) and rng.random() < 0.7:
            parts.append(a)
        else:
            parts.append(b'"' + b"".join(b"\\x%02x" % c for c in a) + b'"')
    return b" ".join(parts) + rng.choice([b"\r\n", b"\n"])


def rand_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One mutation of a frame: the kinds of damage a broken client or a network does."""
    kind = rng.randrange(10)
    b = bytearray(data)
    if kind == 0 and b:  # truncate
        return bytes(b[: rng.randrange(len(b))])
    if kind == 1 and b:  # flip a bit
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == 2:  # a length becomes huge, negative or not a number
        text = bytes(b)
        lengths = [i for i, c in enumerate(text) if c in b"*$" and i + 1 < len(text)]
        if lengths:
            i = rng.choice(lengths)
            j = text.index(b"\r\n", i) if b"\r\n" in text[i:] else len(text)
            n = rng.choice([b"-1", b"-2", b"-100", b"2147483648", b"9223372036854775807",
                            b"99999999999999999999", b"1048577", b"536870912", b"",
                            b"1x", b" 1", b"+1", b"0x10"])
            return text[: i + 1] + n + text[j:]
    if kind == 3 and b:  # a bad type byte
        i = rng.choice([0] + [i + 2 for i in range(len(b) - 2) if b[i:i + 2] == b"\r\n"][:8])
        if i < len(b):
            b[i] = rng.choice(JUNK_TYPES)
        return bytes(b)
    if kind == 4:  # nested aggregates (RESP has no nesting in requests)
        depth = rng.randint(1, 40)
        return b"*1\r\n" * depth + data
    if kind == 5:  # binary junk, or junk in front
        junk = rand_bytes(rng, rng.randint(1, 300))
        return junk if rng.random() < 0.5 else junk + data
    if kind == 6 and b:  # delete or duplicate a slice
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(1, 8))
        return bytes(b[:i] + b[j:]) if rng.random() < 0.5 else bytes(b[:j] + b[i:])
    if kind == 7:  # CR or LF alone
        return data.replace(b"\r\n", rng.choice([b"\n", b"\r", b"\r\r\n"]), rng.randint(1, 3))
    if kind == 8:  # an unbalanced quote in an inline command
        return rng.choice([b'ECHO "abc\r\n', b"ECHO 'a'b\r\n", b'ECHO "a"b\r\n', b"ECHO 'x\r\n"])
    return data + data  # two frames in one write


def case(rng: random.Random) -> bytes:
    frames = [valid_command(rng) for _ in range(rng.randint(1, 3))]
    for _ in range(rng.randint(0, 2)):
        i = rng.randrange(len(frames))
        frames[i] = mutate(rng, frames[i])
    return b"".join(frames)


def play(port: int, data: bytes, split: list[int], pause: float = 0.002,
         quiet: float = 0.1) -> tuple[bytes, bool]:
    """Send ``data`` in pieces ending at the offsets ``split`` (separate TCP writes), then
    read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        last = 0
        try:
            for cut in [*split, len(data)]:
                if cut > last:
                    s.sendall(data[last:cut])
                    if pause:
                        time.sleep(pause)
                last = max(last, cut)
        except (BrokenPipeError, ConnectionResetError):
            pass
        # loopback replies take well under a millisecond: 100 ms of quiet means all are in
        # (``compare`` replays a mismatch with more patience, for a loaded machine)
        return read_until_close(s, timeout=max(1.0, 3 * quiet), quiet=quiet)


def compare(servers: tuple[ServerProcess, ServerProcess], data: bytes, split: list[int],
            context: str) -> None:
    ref, ours = servers
    theirs = play(ref.port, data, split)
    mine = play(ours.port, data, split)
    if mine != theirs:  # once more, waiting longer: a busy machine is not a finding
        theirs = play(ref.port, data, split, quiet=0.6)
        mine = play(ours.port, data, split, quiet=0.6)
    fuzzkit.assert_parses(mine[0], resp3=False, context=context)
    assert mine == theirs, f"{context}\n  input {data[:300]!r}\n  redis    {theirs!r}\n  activekv {mine!r}"


def test_random_and_mutated_frames_are_answered_as_redis_answers(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    seed = fuzzkit.seed()
    rng = random.Random(seed)
    deadline = fuzzkit.budget(6)
    n = 0
    for n in range(fuzzkit.count(150)):
        if time.monotonic() > deadline:
            break
        data = case(rng)
        split = sorted(rng.sample(range(len(data) + 1), min(len(data), rng.randint(0, 3))))
        compare(servers, data, split, f"FUZZ_SEED={seed} case {n}")
    assert n > 10, f"FUZZ_SEED={seed}: only {n} cases ran"
    fuzzkit.assert_healthy(servers[1], f"FUZZ_SEED={seed}")


def test_one_byte_per_write_and_split_frames_change_nothing(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """A pipeline of valid commands delivered one byte per write, and in random pieces,
    gets the same replies as in one write (a parser that loses state between reads fails)."""
    seed = fuzzkit.seed()
    rng = random.Random(seed)
    data = b"".join(valid_command(rng) for _ in range(30))
    whole = play(servers[1].port, data, [])
    bytewise = play(servers[1].port, data, list(range(1, len(data))), pause=0)
    pieces = play(servers[1].port, data, sorted(rng.sample(range(len(data)), 20)))
    assert whole[1] is False and whole[0], f"FUZZ_SEED={seed}: {whole!r}"
    assert len(fuzzkit.assert_parses(whole[0], False, f"FUZZ_SEED={seed}")) == 30
    assert bytewise == whole == pieces, f"FUZZ_SEED={seed}"
    compare(servers, data, list(range(1, len(data), 7)), f"FUZZ_SEED={seed} split")


RESP3_CASES = [
    b"HELLO 3\r\n*1\r\n$4\r\nPING\r\n*-3\r\n",
    b"HELLO 3\r\n*2\r\n$4\r\nECHO\r\n$-9\r\n",
    b"HELLO 3\r\n*1\r\n%1\r\n",
    b"HELLO 3\r\n*1\r\n$4\r\nPING\r\n*1\r\n$1073741824\r\n",
    b"HELLO 3\r\nNOSUCH \"\\xff\\x00\"\r\nECHO 'x\r\n",
    b"HELLO 3\r\n*2\r\n$4\r\nECHO\r\n$3\r\nabcde\r\n",
]


@pytest.mark.parametrize("data", RESP3_CASES, ids=[repr(d)[10:50] for d in RESP3_CASES])
def test_protocol_errors_on_a_resp3_connection_are_answered_as_redis(
    servers: tuple[ServerProcess, ServerProcess], data: bytes
) -> None:
    ref, ours = servers
    theirs = play(ref.port, data, [])
    mine = play(ours.port, data, [])
    fuzzkit.assert_parses(mine[0], resp3=True, context=repr(data))
    # The HELLO map differs by design (server name, version, id); what follows must not.
    assert mine[1] == theirs[1], (mine, theirs)
    assert mine[0].split(b"modules")[-1] == theirs[0].split(b"modules")[-1], (mine, theirs)


def test_huge_and_negative_multibulk_lengths_close_in_order(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """Replies to the commands before the bad frame come first, then the error, then the
    close; the server answers other clients all along."""
    for bad in (b"*-2\r\n", b"*1048577\r\n", b"*1\r\n$-7\r\n", b"*1\r\n$536870913\r\n",
                b"*2\r\n$4\r\nECHO\r\n:3\r\n", b"*3000000000\r\n"):
        data = encode([b"ECHO", b"first"]) + encode([b"PING"]) + bad + encode([b"PING"])
        compare(servers, data, [], repr(bad))
    fuzzkit.assert_healthy(servers[1], "after bad lengths")
