"""Differences found by running Redis's own TCL unit tests (and probes built from them) against
activekv; each fixed one is pinned here against a real redis-server, RESP2 and RESP3."""

from __future__ import annotations

import re

from tests.conftest import Differential


def _stat(info: bytes, command: str, field: str) -> int | None:
    m = re.search(rb"cmdstat_%s:[^\r\n]*\b%s=(\d+)" % (command.encode(), field.encode()), info)
    return None if m is None else int(m.group(1))


def test_exec_refused_in_subscribe_context_aborts_with_execabort(diff: Differential) -> None:
    # RESP2: a subscribed client may not run EXEC; Redis refuses it through execCommandAbort,
    # so the error is "EXECABORT Transaction discarded because of: Can't execute 'exec' ..."
    # (no "ERR"). RESP3 has no pub/sub context: EXEC is just "without MULTI".
    diff.check_all(("SUBSCRIBE", "ch"), ("EXEC",), ("MULTI",), ("EXEC",), ("PING",),
                   ("UNSUBSCRIBE", "ch"), ("EXEC",))


def test_command_refused_in_subscribe_context_counts_as_rejected(diff: Differential) -> None:
    diff.check_all(("CONFIG", "RESETSTAT"), ("SUBSCRIBE", "ch"), ("GET", "k"), ("GET", "k"),
                   ("EXEC",), ("UNSUBSCRIBE", "ch"))
    ref, ours = diff.both("INFO", "commandstats")
    for command in ("get", "exec"):
        want = _stat(ref.value, command, "rejected_calls")
        assert _stat(ours.value, command, "rejected_calls") == want, (command, want)
    if diff.protocol == 2:
        assert _stat(ref.value, "get", "rejected_calls") == 2
