"""``make run``: a local active-active deployment of three regions on this machine.

    python -m server.localrun [--base-port 6379] [--data ./data] [--regions us-west,us-east,eu-west]

Each region is one ``activekv-server`` process with its data under ``<data>/<region>/``,
peered with every other region. Runs in the foreground; Ctrl-C (or SIGTERM) stops all of them
cleanly.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from server.harness.processes import activekv_argv, is_ready

DEFAULT_REGIONS = ("us-west", "us-east", "eu-west")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.localrun", description=__doc__.split("\n")[0])
    parser.add_argument("--base-port", type=int, default=6379)
    parser.add_argument("--data", default="./data")
    parser.add_argument("--regions", default=",".join(DEFAULT_REGIONS))
    parser.add_argument("--appendfsync", default="everysec", choices=("always", "everysec", "no"))
    args = parser.parse_args(argv)
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    ports = {region: args.base_port + i for i, region in enumerate(regions)}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for region, port in ports.items():
        data = os.path.abspath(os.path.join(args.data, region))
        os.makedirs(data, exist_ok=True)
        cmd = activekv_argv(port, data, "--region", region, "--logfile", os.path.join(data, "server.log"),
                            "--appendfsync", args.appendfsync)
        for other, other_port in ports.items():
            if other != region:
                cmd += ["--peer", f"127.0.0.1:{other_port}"]
        procs[region] = subprocess.Popen(cmd)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    for region, port in ports.items():
        if is_ready(port, procs[region], timeout=30.0, poll_s=0.1):
            print(f"{region:<10} port {port}   redis-cli -p {port}   "
                  f"(data and log: {os.path.join(args.data, region)})", flush=True)
        else:
            print(f"region {region} did not start: see {os.path.join(args.data, region, 'server.log')}",
                  file=sys.stderr, flush=True)
            stopping, code = True, 1
    if not stopping:
        print("All regions are peered with each other. Ctrl-C stops them.", flush=True)
    while not stopping:
        for region, proc in procs.items():
            if proc.poll() is not None:
                print(f"region {region} exited with status {proc.returncode}; stopping the others",
                      file=sys.stderr, flush=True)
                stopping, code = True, 1
        time.sleep(0.2)
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    print("stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
