"""MULTI / EXEC / DISCARD / WATCH / UNWATCH, activekv against a real redis-server
(RESP2 and RESP3, see ``diff``). A second connection to each server plays "another client"."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import Differential
from tests.respclient import RespConnection


class Other:
    """A second client on each server, sending the same commands to both."""

    def __init__(self, diff: Differential) -> None:
        self.ref = RespConnection(diff.ref.sock.getpeername()[1])
        self.ours = RespConnection(diff.ours.sock.getpeername()[1])

    def both(self, *args: object) -> None:
        ref, ours = self.ref.call(*args), self.ours.call(*args)
        assert ref == ours, (args, ref, ours)

    def close(self) -> None:
        self.ref.close()
        self.ours.close()


@pytest.fixture
def other(diff: Differential) -> Iterator[Other]:
    o = Other(diff)
    yield o
    o.close()


def test_multi_exec_basics(diff: Differential) -> None:
    diff.check_all(("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("GET", "a"), ("MGET", "a", "b"),
                   ("GET", "nokey"), ("EXEC",), ("GET", "a"))


def test_discard_discards_queued_commands(diff: Differential) -> None:
    diff.check_all(("SET", "x", "10"), ("MULTI",), ("SET", "x", "20"), ("DISCARD",), ("GET", "x"),
                   ("DISCARD",), ("EXEC",))


def test_nested_multi_are_not_allowed(diff: Differential) -> None:
    diff.check_all(("MULTI",), ("MULTI",), ("SET", "a", "1"), ("EXEC",), ("GET", "a"))


def test_exec_and_discard_without_multi(diff: Differential) -> None:
    diff.check_all(("EXEC",), ("DISCARD",), ("EXEC", "extra"), ("DISCARD", "extra"), ("MULTI", "extra"))


def test_empty_multi_exec(diff: Differential) -> None:
    diff.check_all(("MULTI",), ("EXEC",))


def test_multi_with_a_syntax_error_aborts_exec(diff: Differential) -> None:
    diff.check_all(("MULTI",), ("SET", "a", "1"), ("SET",), ("INCR", "b"), ("EXEC",), ("EXISTS", "a", "b"),
                   ("EXEC",))


def test_multi_with_an_unknown_command_aborts_exec(diff: Differential) -> None:
    diff.check_all(("MULTI",), ("SET", "a", "1"), ("NOSUCHCOMMAND", "x"), ("EXEC",), ("EXISTS", "a"))


def test_exec_with_wrong_arity_inside_multi_discards_the_transaction(diff: Differential) -> None:
    diff.check_all(("MULTI",), ("SET", "a", "1"), ("EXEC", "extra"), ("EXEC",), ("EXISTS", "a"))


def test_runtime_error_inside_exec_is_returned_in_the_array(diff: Differential) -> None:
    diff.check_all(("SET", "s", "foo"), ("MULTI",), ("INCR", "s"), ("SET", "a", "1"), ("SET", "a", "2", "NX", "XX"),
                   ("INCRBYFLOAT", "s", "1"), ("GET", "a"), ("EXEC",), ("GET", "a"), ("GET", "s"))


def test_select_inside_multi(diff: Differential) -> None:
    diff.check_all(("MULTI",), ("SELECT", "5"), ("SET", "k", "in5"), ("SELECT", "99"), ("EXEC",), ("GET", "k"),
                   ("SELECT", "5"), ("GET", "k"), ("FLUSHDB",), ("SELECT", "0"))


def test_watch_a_key_modified_by_another_client_aborts_exec(diff: Differential, other: Other) -> None:
    diff.check_all(("SET", "x", "30"), ("WATCH", "x"))
    other.both("SET", "x", "40")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",), ("GET", "x"))


@pytest.mark.parametrize("noop", [("SADD", "s", "a", "b"), ("ZADD", "z", "1", "a", "2", "b"),
                                  ("ZADD", "z", "XX", "CH", "2", "b"), ("ZADD", "z", "INCR", "0", "a")])
def test_watch_is_not_touched_by_a_write_that_changes_nothing(diff: Differential, other: Other,
                                                              noop: tuple[str, ...]) -> None:
    # Redis signals a modified key only when members were added or scores changed.
    diff.check_all(("SADD", "s", "a", "b"), ("ZADD", "z", "1", "a", "2", "b"), ("WATCH", "s", "z"))
    other.both(*noop)
    diff.check_all(("MULTI",), ("PING",), ("EXEC",), ("WATCH", "s", "z"))
    other.both("SADD", "s", "a", "new")  # one member added: the key was modified
    diff.check_all(("MULTI",), ("PING",), ("EXEC",), ("WATCH", "z"))
    other.both("ZADD", "z", "1", "a", "3", "b")  # one score changed
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_watch_a_key_modified_by_the_same_client_before_multi(diff: Differential) -> None:
    diff.check_all(("SET", "x", "30"), ("WATCH", "x"), ("INCR", "x"), ("MULTI",), ("PING",), ("EXEC",))


def test_exec_works_on_watched_key_not_modified(diff: Differential) -> None:
    diff.check_all(("WATCH", "x", "y", "z"), ("WATCH", "k"), ("MULTI",), ("PING",), ("EXEC",))


def test_unwatch_forgets_watched_keys(diff: Differential, other: Other) -> None:
    diff.check_all(("SET", "x", "30"), ("WATCH", "x"), ("UNWATCH",))
    other.both("SET", "x", "40")
    diff.check_all(("MULTI",), ("GET", "x"), ("EXEC",), ("UNWATCH",))


def test_after_exec_or_discard_watched_keys_are_forgotten(diff: Differential, other: Other) -> None:
    diff.check_all(("WATCH", "x"), ("SET", "x", "1"), ("MULTI",), ("EXEC",))
    other.both("SET", "x", "2")
    diff.check_all(("MULTI",), ("GET", "x"), ("EXEC",), ("WATCH", "x"), ("MULTI",), ("DISCARD",))
    other.both("SET", "x", "3")
    diff.check_all(("MULTI",), ("GET", "x"), ("EXEC",))


def test_watch_inside_multi_is_not_allowed(diff: Differential) -> None:
    diff.check_all(("MULTI",), ("WATCH", "x"), ("SET", "x", "1"), ("EXEC",), ("GET", "x"))


def test_watch_a_missing_key_then_created_or_deleted_by_another_client(diff: Differential, other: Other) -> None:
    diff.check("WATCH", "x")
    other.both("DEL", "x")  # deleting a missing key changes nothing
    diff.check_all(("MULTI",), ("PING",), ("EXEC",), ("WATCH", "x"))
    other.both("SET", "x", "1")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_flushall_touches_watched_keys_that_exist(diff: Differential, other: Other) -> None:
    diff.check_all(("SET", "x", "1"), ("WATCH", "x"))
    other.both("FLUSHALL")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",), ("WATCH", "missing"))
    other.both("FLUSHALL")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_watch_of_an_expiring_key_aborts_exec_once_it_expired(diff: Differential) -> None:
    diff.check_all(("SET", "x", "v", "PX", "50"), ("WATCH", "x"))
    time.sleep(0.12)
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_watch_of_a_key_with_a_ttl_that_has_not_expired(diff: Differential) -> None:
    diff.check_all(("SET", "x", "v", "EX", "100"), ("WATCH", "x"), ("MULTI",), ("PING",), ("EXEC",))


def test_watch_expire_by_another_client(diff: Differential, other: Other) -> None:
    diff.check_all(("SET", "x", "v"), ("WATCH", "x"))
    other.both("EXPIRE", "x", "100")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_watch_in_another_db_is_not_touched(diff: Differential, other: Other) -> None:
    diff.check_all(("SET", "x", "v"), ("WATCH", "x"))
    other.both("SELECT", "3")
    other.both("SET", "x", "w")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))
    other.both("FLUSHDB")


def test_multi_exec_with_queued_write_to_watched_key_by_itself(diff: Differential) -> None:
    diff.check_all(("WATCH", "x"), ("MULTI",), ("SET", "x", "1"), ("INCR", "x"), ("EXEC",), ("GET", "x"))


def test_reset_inside_multi_discards_transaction(diff: Differential) -> None:
    diff.check_all(("MULTI",), ("SET", "a", "1"), ("RESET",), ("EXEC",), ("EXISTS", "a"))


def test_multi_exec_nil_array_in_both_protocols(diff: Differential, other: Other) -> None:
    diff.check_all(("WATCH", "k"))
    other.both("SET", "k", "v")
    diff.check_all(("MULTI",), ("GET", "k"), ("EXEC",), ("EXEC",))
