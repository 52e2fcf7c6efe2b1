"""``make run``: a local active-active deployment of three regions on this machine.

    python -m server.localrun [--base-port 6379] [--data ./data] [--regions us-west,us-east,eu-west] [--tls]

Each region is one ``activekv-server`` process with its data under ``<data>/<region>/``,
peered with every other region. Runs in the foreground; Ctrl-C (or SIGTERM) stops all of them
cleanly.

With ``--tls`` (``make run TLS=1``) the ports are TLS ports (``--port 0 --tls-port N``) and the
peer links are TLS too (``--tls-replication yes``); a local CA and a certificate for
127.0.0.1/localhost are made with ``openssl`` under ``<data>/tls/`` if they are not there yet
(the README shows the same commands).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import ssl
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
    parser.add_argument("--tls", action="store_true", help="TLS on client ports and peer links")
    args = parser.parse_args(argv)
    certs = make_certs(os.path.join(os.path.abspath(args.data), "tls")) if args.tls else None
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    ports = {region: args.base_port + i for i, region in enumerate(regions)}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for region, port in ports.items():
        data = os.path.abspath(os.path.join(args.data, region))
        os.makedirs(data, exist_ok=True)
        cmd = activekv_argv(port, data, "--region", region, "--logfile", os.path.join(data, "server.log"),
                            "--appendfsync", args.appendfsync)
        if certs is not None:
            cmd += ["--port", "0", "--tls-port", str(port), "--tls-replication", "yes",
                    "--tls-cert-file", certs["crt"], "--tls-key-file", certs["key"],
                    "--tls-ca-cert-file", certs["ca"]]
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
        if certs is not None:
            ready = tls_ready(port, procs[region], certs, timeout=30.0)
            cli = (f"redis-cli -p {port} --tls --cacert {certs['ca']} --cert {certs['crt']} "
                   f"--key {certs['key']}")
        else:
            ready = is_ready(port, procs[region], timeout=30.0, poll_s=0.1)
            cli = f"redis-cli -p {port}"
        if ready:
            print(f"{region:<10} port {port}   {cli}   "
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


def make_certs(directory: str) -> dict[str, str]:
    """A local CA and one certificate it signs for 127.0.0.1 and localhost (made once)."""
    paths = {name: os.path.join(directory, f) for name, f in
             (("ca", "ca.crt"), ("ca_key", "ca.key"), ("crt", "server.crt"), ("key", "server.key"))}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    os.makedirs(directory, exist_ok=True)
    ext = os.path.join(directory, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def openssl(*argv: str) -> None:
        subprocess.run(["openssl", *argv], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
            "-subj", "/O=activekv/CN=activekv local CA", "-keyout", paths["ca_key"], "-out", paths["ca"])
    csr = os.path.join(directory, "server.csr")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", "/O=activekv/CN=localhost",
            "-keyout", paths["key"], "-out", csr)
    openssl("x509", "-req", "-sha256", "-days", "365", "-in", csr, "-CA", paths["ca"],
            "-CAkey", paths["ca_key"], "-CAcreateserial", "-extfile", ext, "-out", paths["crt"])
    os.chmod(paths["key"], 0o600)
    os.chmod(paths["ca_key"], 0o600)
    return paths


def tls_ready(port: int, proc: subprocess.Popen[bytes], certs: dict[str, str], timeout: float) -> bool:
    """Until the TLS port answers a PING, or ``proc`` exits, or ``timeout`` passes."""
    ctx = ssl.create_default_context(cafile=certs["ca"])
    ctx.load_cert_chain(certs["crt"], certs["key"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    if s.recv(64):
                        return True
        except OSError:
            time.sleep(0.1)
    return False


if __name__ == "__main__":
    sys.exit(main())
