"""Expire times that overflow Redis's milliseconds (issue 14): every EXPIRE/PEXPIRE/EXPIREAT/
PEXPIREAT, SET EX|PX|EXAT|PXAT, GETEX and SETEX/PSETEX path, against redis-server."""

from __future__ import annotations

import pytest

from tests.conftest import Differential

EDGES = ["-9223372036854776", "-9223372036854775", "9223372036854775", "9223372036854776",
         "9223372036854775807", "-9223372036854775808", "9223372036854775808", "0", "-1",
         "9223372036854775806", "-9223372036854775807"]


@pytest.mark.parametrize("cmd", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_expire_family_overflow(diff: Differential, cmd: str) -> None:
    for value in EDGES:
        diff.check("SET", "foo", "bar")
        diff.check(cmd, "foo", value)
        diff.check(cmd, "missing", value)
        diff.check("EXISTS", "foo")


@pytest.mark.parametrize("opt", ["EX", "PX", "EXAT", "PXAT"])
def test_set_and_getex_overflow(diff: Differential, opt: str) -> None:
    for value in EDGES:
        diff.check("SET", "foo", "bar", opt, value)
        diff.check("SET", "foo", "bar")
        diff.check("GETEX", "foo", opt, value)
        diff.check("EXISTS", "foo")


@pytest.mark.parametrize("cmd", ["SETEX", "PSETEX"])
def test_setex_overflow(diff: Differential, cmd: str) -> None:
    for value in EDGES:
        diff.check(cmd, "foo", value, "bar")
        diff.check("EXISTS", "foo")
