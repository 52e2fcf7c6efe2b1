"""Generate ``server/acl/acl_commands.json``: every command and subcommand of a real Redis
7.0.15 with its ACL categories.

ACL rules name any Redis command (``+subscribe`` is valid even where we have no handler), and
how ``ACL LIST`` / ``ACL GETUSER`` compress a user's command bitmap into categories depends on
the whole table (Redis's ``ACLDescribeSelectorCommandRules`` counts every command of each
category), so the ACL module needs Redis's full table, not only the commands we implement
(``server/command_spec.json``). Run once, again only when the reference Redis changes::

    python -m server.acl.gen_table [--redis-server PATH]

Format: ``{"redis_version": "7.0.15", "commands": [[fullname, [category, ...]], ...]}``,
sorted by name (a container before its subcommands), categories without the ``@``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from server.gen_command_spec import Conn, map_get, start_redis, stop_redis

OUTPUT = Path(__file__).with_name("acl_commands.json")


def _members(tagged: Any) -> list[Any]:
    return list(tagged["@set"]) if isinstance(tagged, dict) else list(tagged)


def _walk(entry: list[Any], out: list[tuple[str, list[str]]]) -> None:
    cats = [str(c["@status"] if isinstance(c, dict) else c).lstrip("@") for c in _members(entry[6])]
    out.append((str(entry[0]), cats))
    for sub in _members(entry[9]):
        _walk(sub, out)


def generate(binary: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="activekv-gen-acl-") as workdir:
        proc, port = start_redis(binary, workdir)
        try:
            conn = Conn(port, 3)
            version = map_get(conn.hello, "version")
            table, _ = conn.call("COMMAND")
            conn.close()
        finally:
            stop_redis(proc)
    out: list[tuple[str, list[str]]] = []
    for entry in _members(table):
        _walk(entry, out)
    out.sort(key=lambda item: item[0])
    return {"redis_version": version, "commands": [[n, c] for n, c in out]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the ACL command table from redis-server")
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    args = parser.parse_args(argv)
    data = generate(args.redis_server)
    lines = ",\n".join(json.dumps(item) for item in data["commands"])
    OUTPUT.write_text('{"redis_version": "%s",\n"commands": [\n%s\n]}\n' % (data["redis_version"], lines),
                      encoding="utf-8")
    print(f"wrote {OUTPUT}: {len(data['commands'])} commands")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
