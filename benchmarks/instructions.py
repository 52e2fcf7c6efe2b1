"""Instructions per command on the in-process command path, counted by callgrind: a figure that
does not move with the machine's noise, to tell whether a change made the write path cheaper or
dearer (``make bench-instructions``).

    python -m benchmarks.instructions [--commands set,get,incr,sadd,hset] [--small 5000]
                                      [--large 15000] [--pipeline 1] [--peers 2]
                                      [--baseline-dir DIR] [--out DIR]

For each command, ``benchmarks.inprocess`` (by default two live peers, pipeline 1) runs under
``valgrind --tool=callgrind`` twice, with ``--small`` and ``--large`` requests; the difference
of the two totals over the difference of the requests is the cost of one more command, without
start-up. With ``--baseline-dir`` (another checkout with its own ``.venv``, e.g. a
``git worktree`` of the previous commit) the same runs are made there and each figure is also
given as a ratio to it. Wall-clock speed against ``redis-server`` is ``make bench-throughput``'s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import git_commit, results_path, save_png

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_COLLECTED = re.compile(r"Collected : (\d+)")


def total_instructions(tree: str, command: str, requests: int, pipeline: int = 1, peers: int = 2) -> int:
    python = os.path.join(tree, ".venv", "bin", "python")
    if not os.path.exists(python):
        python = sys.executable
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-m",
            "benchmarks.inprocess", "--repeat", "1", "--command", command, "--requests", str(requests),
            "--pipeline", str(pipeline), "--peers", str(peers)]
    run = subprocess.run(argv, cwd=tree, capture_output=True, text=True, timeout=1800)
    found = _COLLECTED.search(run.stderr)
    if run.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run failed ({command}, {requests}): {run.stderr[-500:]}")
    return int(found.group(1))


def per_command(tree: str, command: str, small: int, large: int, pipeline: int = 1, peers: int = 2) -> int:
    return ((total_instructions(tree, command, large, pipeline, peers)
             - total_instructions(tree, command, small, pipeline, peers)) // (large - small))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    parser.add_argument("--commands", default="set,get,incr,sadd,hset")
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--large", type=int, default=15000)
    parser.add_argument("--pipeline", type=int, default=1)
    parser.add_argument("--peers", type=int, default=2)
    parser.add_argument("--baseline-dir", default=None, help="a checkout to compare with")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install -y valgrind)", file=sys.stderr)
        return 1
    trees = {"this": ROOT, **({"baseline": os.path.abspath(args.baseline_dir)} if args.baseline_dir else {})}
    figures: dict[str, dict[str, int]] = {name: {} for name in trees}
    for command in args.commands.split(","):
        for name, tree in trees.items():
            print(f"{command}: {name} ({tree}) ...", flush=True)
            figures[name][command] = per_command(tree, command, args.small, args.large, args.pipeline, args.peers)
        line = f"{command:5} {figures['this'][command]:>9,} instructions per command"
        if "baseline" in figures:
            line += f"  (baseline {figures['baseline'][command]:,}: "
            line += f"{figures['this'][command] / figures['baseline'][command]:.3f}x)"
        print(line, flush=True)
    results: dict[str, Any] = {"parameters": vars(args), "commit": git_commit(),
                               "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "instructions": figures}
    path = results_path(args.out, "instructions")
    with open(path + ".json", "w") as f:
        json.dump(results, f, indent=2)

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        commands = list(figures["this"])
        width = 0.8 / len(figures)
        for k, (name, values) in enumerate(figures.items()):
            ax.bar([i + k * width for i in range(len(commands))], [values[c] for c in commands], width, label=name)
        ax.set_xticks([i + width * (len(figures) - 1) / 2 for i in range(len(commands))], commands)
        ax.set_title(f"instructions per command (callgrind, in-process, pipeline {args.pipeline}, "
                     f"{args.peers} peers)")
        ax.legend()
        fig.tight_layout()
        return fig

    save_png(draw, path + ".png")
    for ext in (".json", ".png"):
        shutil.copyfile(path + ext, os.path.join(args.out, "instructions-latest" + ext))
    print(f"results: {path}.json, {path}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
