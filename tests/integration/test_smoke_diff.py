"""A first differential pass over string commands (more in tests/compat)."""

from tests.conftest import Differential


def test_set_get_incr(diff: Differential) -> None:
    diff.check_all(
        ("SET", "a", "10"), ("GET", "a"), ("INCR", "a"), ("INCRBY", "a", "5"), ("DECR", "a"),
        ("INCRBYFLOAT", "a", "0.5"), ("GET", "a"), ("INCR", "a"), ("GET", "nosuch"),
        ("SET", "a", "1", "NX"), ("SET", "a", "2", "XX", "GET"), ("GETDEL", "a"), ("EXISTS", "a"),
        ("SET",), ("NOSUCHCMD", "x"), ("APPEND", "s", "abc"), ("GETRANGE", "s", "0", "-2"),
        ("SETRANGE", "s", "5", "xy"), ("GET", "s"), ("STRLEN", "s"), ("TYPE", "s"),
    )
