"""``activekv-server [config-file] [--option value ...]``: the redis-server of a region."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys

from server.config import LOG_LEVELS, ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print("Usage: activekv-server [/path/to/activekv.conf] [--port N] [--bind ADDR] "
              "[--dir DIR] [--region NAME] [--requirepass PASS] [--databases N] ...")
        return 0
    if args and args[0] in ("-v", "--version"):
        from server.info import ACTIVEKV_VERSION, REDIS_VERSION

        print(f"activekv-server v={ACTIVEKV_VERSION} (redis protocol {REDIS_VERSION})")
        return 0
    try:
        config = load_config(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    handler: logging.Handler
    if config.logfile:
        handler = logging.FileHandler(config.logfile)
    else:
        handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        f"{os.getpid()}:{config.region} %(asctime)s.%(msecs)03d %(levelname)s %(message)s",
        "%d %b %Y %H:%M:%S",
    ))
    root = logging.getLogger("activekv")
    root.addHandler(handler)
    root.setLevel(LOG_LEVELS.get(config.loglevel, logging.INFO))
    from server.tls import resolve_paths

    resolve_paths(config)
    try:
        os.makedirs(config.dir, exist_ok=True)
        os.chdir(config.dir)
    except OSError as exc:
        print(f"activekv-server: can't chdir to '{config.dir}': {exc.strerror}", file=sys.stderr)
        return 1

    from server.app import GC_THRESHOLDS, Server

    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio still works
        pass
    gc.set_threshold(*GC_THRESHOLDS)
    from replication.facade import UNTRUSTED_DATA
    from server.acl.store import AclConfigError
    from server.tls import TLSConfigError

    pidfile = _write_pidfile(config.pidfile)
    try:
        server = Server(config)
        asyncio.run(server.serve_forever())
    except TLSConfigError as exc:  # as redis-server: "Failed to configure TLS", and exit
        root.error("Failed to configure TLS: %s", exc)
        print(f"activekv-server: Failed to configure TLS: {exc}", file=sys.stderr)
        return 1
    except AclConfigError as exc:  # Redis exits at start-up on a bad user or ACL file
        root.error("can't start: %s", exc)
        print(f"activekv-server: can't start: {exc}", file=sys.stderr)
        return 1
    except UNTRUSTED_DATA as exc:
        # A data directory we cannot trust: one clear line, no traceback, non-zero exit.
        root.error("can't start: %s", exc)
        print(f"activekv-server: can't start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"activekv-server: could not listen on port {config.port}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
    return 0


def _write_pidfile(path: str) -> str:
    """``pidfile``: this process's id, removed at exit (Redis's createPidFile). A relative path
    is inside ``dir`` (Redis chdirs while it reads ``dir``)."""
    if not path:
        return ""
    try:
        with open(path, "w") as f:
            f.write(f"{os.getpid()}\n")
    except OSError as exc:
        logging.getLogger("activekv").warning("Failed to write PID file: %s", exc.strerror)
        return ""
    return os.path.abspath(path)


if __name__ == "__main__":
    sys.exit(main())
