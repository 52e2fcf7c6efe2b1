"""Build: the hot modules listed in compiled_modules.txt are compiled with mypyc.

mypyc ships with mypy (a build requirement in pyproject.toml) and turns the type-annotated
sources into C extensions; the .py sources stay next to them and are what runs when
``ACTIVEKV_PURE=1`` or when a source changed after the build (crdt/buildguard.py).

``ACTIVEKV_COMPILE=0 pip install .`` (or ``make ACTIVEKV_COMPILE=0``) builds the pure-Python
package. Every compiled build writes crdt/_compiled_manifest.json: each compiled module's source
hash, which the import-time guard checks.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
MANIFEST = ROOT / "crdt" / "_compiled_manifest.json"


def compiled_sources() -> list[str]:
    lines = (ROOT / "compiled_modules.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def write_manifest(sources: list[str]) -> None:
    hashes = {module_name(p): hashlib.sha256((ROOT / p).read_bytes()).hexdigest() for p in sources}
    MANIFEST.write_text(json.dumps({"format": 1, "modules": hashes}, indent=1, sort_keys=True) + "\n")


def remove_unlisted(sources: list[str]) -> None:
    """Delete in-place extension modules of modules no longer in the list (the import guard
    would not load them anyway: they are not in the manifest)."""
    listed = {module_name(p) for p in sources}
    for pkg in ("crdt", "replication", "server"):
        for so in (ROOT / pkg).rglob("*.so"):
            module = ".".join(so.relative_to(ROOT).with_name(so.name.split(".")[0]).parts)
            if module not in listed:
                so.unlink()


def ext_modules() -> list:
    if os.environ.get("ACTIVEKV_COMPILE", "1") == "0":
        MANIFEST.unlink(missing_ok=True)
        return []
    from mypyc.build import mypycify

    sources = compiled_sources()
    remove_unlisted(sources)
    write_manifest(sources)  # the hashes of exactly the sources mypyc reads now
    os.chdir(ROOT)  # mypyc takes paths relative to the project
    return mypycify(sources, opt_level=os.environ.get("ACTIVEKV_MYPYC_OPT", "3"),
                    multi_file=True, group_name="activekv_native")  # see activekv_buildguard.GROUP


setup(ext_modules=ext_modules())
