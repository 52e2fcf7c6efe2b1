"""``user`` lines in the config file, ``aclfile`` with ACL SAVE / ACL LOAD, and start-up
refusals, against a real redis-server given the same files (each server in a directory of its
own, the files named relatively so error texts are identical)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from server.harness.processes import ROOT, ServerProcess, free_port
from tests.compat.acl_helpers import norm, norm_rules
from tests.respclient import RespConnection

REDIS = shutil.which("redis-server") or "redis-server"


def _argv(kind: str, port: int, workdir: str, conf: str | None, args: list[str]) -> list[str]:
    head = [conf] if conf else []
    if kind == "redis":
        return [REDIS, *head, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", workdir, *args]
    return [sys.executable, "-m", "server", *head, "--port", str(port), "--dir", workdir,
            "--region", "test", *args]


def _workdir(files: dict[str, str]) -> str:
    workdir = tempfile.mkdtemp(prefix="acl-files-")
    for name, text in files.items():
        Path(workdir, name).parent.mkdir(parents=True, exist_ok=True)
        Path(workdir, name).write_text(text, encoding="utf-8")
    return workdir


@contextmanager
def pair(files: dict[str, str], args: list[str], conf: str | None = None) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    procs = []
    try:
        for kind in ("redis", "activekv"):
            port, workdir = free_port(), _workdir(files)
            procs.append(ServerProcess(_argv(kind, port, workdir, conf, args), port, workdir))
        yield procs[0], procs[1]
    finally:
        for proc in procs:
            proc.stop()


def refused(files: dict[str, str], args: list[str], conf: str | None = None) -> None:
    """Both servers refuse to start (a non-zero exit, within the timeout)."""
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    for kind in ("redis", "activekv"):
        workdir = _workdir(files)
        proc = subprocess.run(_argv(kind, free_port(), workdir, conf, args), cwd=workdir,
                              capture_output=True, timeout=20)
        assert proc.returncode != 0, (kind, proc.stdout, proc.stderr)


class Both:
    def __init__(self, ref: ServerProcess, ours: ServerProcess) -> None:
        self.conns = (RespConnection(ref.port), RespConnection(ours.port))

    def check(self, *args: object, normalise: bool = True) -> None:
        ref, ours = (c.call(*args) for c in self.conns)
        if normalise:
            ref, ours = norm(ref), norm(ours)
        assert ours == ref, f"{args!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"

    def close(self) -> None:
        for c in self.conns:
            c.close()


CONF_USERS = """\
requirepass frompass
user alice on >apw ~app:* +@read +@write -@dangerous
user bob off #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 +get
user carol on nopass (+get ~x*) (+set %W~w*) &news
"""


def test_config_file_user_lines() -> None:
    with pair({"s.conf": CONF_USERS}, [], conf="s.conf") as (ref, ours):
        both = Both(ref, ours)
        for args in [("PING",), ("AUTH", "frompass"), ("ACL", "LIST"), ("ACL", "USERS"),
                     ("AUTH", "alice", "apw"), ("ACL", "WHOAMI"), ("SET", "app:1", "v"),
                     ("FLUSHALL",), ("GET", "other"), ("AUTH", "bob", "password"),
                     ("AUTH", "carol", "x"), ("GET", "x1"), ("SET", "w1", "v"), ("GET", "w1")]:
            both.check(*args)
        both.close()


def test_config_user_default_overrides_requirepass() -> None:
    conf = "requirepass frompass\nuser default on >other ~* &* +@all\n"
    with pair({"s.conf": conf}, [], conf="s.conf") as (ref, ours):
        both = Both(ref, ours)
        for args in [("AUTH", "frompass"), ("AUTH", "other"), ("ACL", "LIST")]:
            both.check(*args)
        both.close()


ACL_FILE = """\
user default on nopass ~* &* +@all
user app on >apw ~app:* resetchannels -@all +get +set
user ops on >opw ~* &* +@all -flushall (+flushall ~tmp:*)
"""


def test_aclfile_save_load_round_trip() -> None:
    with pair({"users.acl": ACL_FILE}, ["--aclfile", "users.acl"]) as (ref, ours):
        both = Both(ref, ours)
        for args in [("ACL", "LIST"), ("AUTH", "app", "apw"), ("ACL", "WHOAMI"), ("AUTH", "default", "x"),
                     ("ACL", "SETUSER", "new", "on", ">npw", "+@hash", "~h:*", "&c"),
                     ("ACL", "DELUSER", "ops"), ("ACL", "SAVE"), ("ACL", "LIST")]:
            both.check(*args)
        saved = [Path(p.workdir, "users.acl").read_bytes() for p in (ref, ours)]
        lines = [[norm_rules(line) for line in s.splitlines()] for s in saved]
        assert lines[0] == lines[1]
        # Another connection authenticated as "app": ACL LOAD replaces every user, and closes
        # the connections of the users it replaced (as Redis 7.0's ACLFreeUsersSet).
        app = Both(ref, ours)
        app.check("AUTH", "app", "apw")
        for proc in (ref, ours):
            with open(Path(proc.workdir, "users.acl"), "a", encoding="utf-8") as f:
                f.write("user late on >lpw +ping\n")
        for args in [("ACL", "LOAD"), ("ACL", "LIST"), ("AUTH", "late", "lpw"), ("PING",), ("GET", "k")]:
            both.check(*args)
        for conn in app.conns:
            with pytest.raises(ConnectionError):
                conn.call("PING")
        both.close()


BAD_FILES = [
    "user app on +nosuch\n",
    "app on +get\n",
    "user\n",
    "user a\nuser a\n",
    "user x on #abc ~a allkeys\n",
    "# a comment\n",
    "user x bad1 bad2\n",
]


def test_aclfile_bad_load_changes_nothing() -> None:
    with pair({"users.acl": ACL_FILE}, ["--aclfile", "users.acl"]) as (ref, ours):
        both = Both(ref, ours)
        for bad in BAD_FILES:
            for proc in (ref, ours):
                Path(proc.workdir, "users.acl").write_text(ACL_FILE + bad, encoding="utf-8")
            both.check("ACL", "LOAD", normalise=False)
            both.check("ACL", "LIST")
        # Redis 7.0.15 crashes on an unmatched '(' in ACL LOAD (ACLMergeSelectorArguments
        # returns NULL and the loop goes on): we answer its would-be error, change nothing.
        conn = both.conns[1]
        before = conn.call("ACL", "LIST")
        Path(ours.workdir, "users.acl").write_text(ACL_FILE + "user x on (+get\n", encoding="utf-8")
        assert conn.call("ACL", "LOAD").value == (
            "ERR users.acl:4: Unmatched parenthesis in selector definition.WARNING: ACL errors "
            "detected, no change to the previously active ACL rules was performed")
        assert conn.call("ACL", "LIST") == before
        for proc in (ref, ours):
            os.unlink(Path(proc.workdir, "users.acl"))
        both.check("ACL", "LOAD", normalise=False)
        both.close()


def test_aclfile_save_error() -> None:
    files = {"acl/users.acl": ACL_FILE}
    with pair(files, ["--aclfile", "acl/users.acl"]) as (ref, ours):
        both = Both(ref, ours)
        both.check("ACL", "SETUSER", "x", "on")
        for proc in (ref, ours):  # the ACL file's directory disappears: the rename fails
            shutil.rmtree(Path(proc.workdir, "acl"))
        both.check("ACL", "SAVE", normalise=False)
        both.check("ACL", "LOAD", normalise=False)
        both.close()


def test_startup_refusals() -> None:
    refused({"users.acl": "user x on +nosuch\n"}, ["--aclfile", "users.acl"])
    refused({}, ["--aclfile", "missing.acl"])
    refused({"s.conf": "aclfile users.acl\nuser a on\n", "users.acl": ""}, [], conf="s.conf")
    refused({"s.conf": "user a on +nosuch\n"}, [], conf="s.conf")
