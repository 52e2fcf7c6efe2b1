"""``notify-keyspace-events`` and ``client-output-buffer-limit`` in a config file and on the
command line (redis.conf syntax: one class per directive line, later lines adding to earlier
ones; flags override the file), with Redis's reasons for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, config_get, load_config


def _get(cfg: object, name: str) -> str:
    return dict(config_get(cfg, [name.encode()]))[name]  # type: ignore[arg-type]


def test_file_lines_add_classes_and_flags_override(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text("client-output-buffer-limit pubsub 64mb 16mb 90\n"
                    "client-output-buffer-limit normal 1mb 0 0\n"
                    "notify-keyspace-events Ex\n")
    cfg = load_config([str(conf), "--notify-keyspace-events", "KA"])
    assert _get(cfg, "client-output-buffer-limit") == (
        "normal 1048576 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 90")
    assert _get(cfg, "notify-keyspace-events") == "AK"
    cfg = load_config(["--client-output-buffer-limit", "replica 1gb 1 2"])
    assert _get(cfg, "client-output-buffer-limit") == (
        "normal 0 0 0 slave 1073741824 1 2 pubsub 33554432 8388608 60")


@pytest.mark.parametrize(("args", "reason"), [
    (["--client-output-buffer-limit", "pubsub 1 2"], "Wrong number of arguments in buffer limit configuration."),
    (["--client-output-buffer-limit", "master 1 2 3"], "Invalid client class specified in buffer limit configuration."),
    (["--client-output-buffer-limit", "pubsub 1 x 3"],
     "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    (["--notify-keyspace-events", "KEQ"], "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
])
def test_bad_values_give_redis_reasons(args: list[str], reason: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(args)
    assert err.value.message.endswith(": " + reason)
    assert "'" + args[0][2:] + "'" in err.value.message
