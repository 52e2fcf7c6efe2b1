"""Run a test body on the uncompiled sources, in a child process when this one is compiled.

For the few tests that count calls by patching a method of a class or a function of a module:
mypyc binds compiled modules' calls natively, so a patch of a compiled module is refused (a
native class) or never seen (a module function). The body runs on the same sources with
``ACTIVEKV_PURE=1`` (activekv_buildguard.py), where the patch works.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import activekv_buildguard

REPO = Path(__file__).resolve().parent.parent


def run_pure(body: Callable[..., None], *args: int | str) -> None:
    """Call ``body(*args)`` (a module-level function; its arguments ints or strings) on the
    pure-Python sources."""
    if not activekv_buildguard.status().get("compiled"):
        body(*args)
        return
    code = f"import {body.__module__} as m; m.{body.__name__}(*{args!r})"
    env = {**os.environ, "ACTIVEKV_PURE": "1"}
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=90)
    assert run.returncode == 0, f"{body.__name__} on the pure sources failed:\n{run.stderr}"
