"""Never run a stale compiled module: the import-time check of the mypyc build.

``setup.py`` compiles the modules of ``compiled_modules.txt`` with mypyc and records each one's
source hash in ``crdt/_compiled_manifest.json``. Python prefers ``x.cpython-*.so`` to ``x.py``, so
after an edit (or a ``git checkout``) the extension would silently run the old code. This module
(imported by the ``__init__`` of ``crdt``, ``replication`` and ``server``, so before any of
their modules; it lives outside ``crdt`` because it reads the environment and files)
puts a finder first on ``sys.meta_path`` that, for every module of those packages:

* finds its spec as Python would; when that is an extension module with a ``.py`` beside it,
* keeps the extension only if the build is *fresh* — every module in the manifest still has
  the source hash it was compiled from — and the module is in the manifest;
* otherwise loads the ``.py`` source instead.

Staleness is all-or-nothing: mypyc binds the modules of one build to each other's native code,
so running one edited module from source next to the compiled rest would still call the old
code. One stale source makes the whole process pure Python, with one warning on stderr naming
it and the rebuild command. ``ACTIVEKV_PURE=1`` asks for the pure-Python run explicitly (the
smoke run of the uncompiled sources); ``ACTIVEKV_STALE=error`` refuses to start instead of
falling back.

This module is never compiled itself.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGES = ("crdt", "replication", "server")
GROUP = "activekv_native__mypyc"  # setup.py's mypyc group_name + "__mypyc"
ROOT = Path(__file__).resolve().parent  # where the packages live
MANIFEST = ROOT / "crdt" / "_compiled_manifest.json"
REBUILD_HINT = "rebuild with `make build` (or `python setup.py build_ext --inplace`)"


class StaleBuild(ImportError):
    """A compiled module's source changed since the build (with ``ACTIVEKV_STALE=error``)."""


def source_path(root: Path, module: str) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def written_hints(cls: type) -> dict[str, object]:
    """A class's field annotations as its source writes them, evaluated in its module. A
    compiled NamedTuple's ``__annotations__`` are erased to their classes (``tuple`` for
    ``tuple[bytes, ...]``); what checks field shapes (``crdt/shape.py``) needs the real ones.
    {} when the source cannot be read."""
    import ast

    module = sys.modules.get(cls.__module__)
    try:
        tree = ast.parse(source_path(ROOT, cls.__module__).read_text())
    except (OSError, SyntaxError, ValueError):
        return {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            namespace = dict(vars(module)) if module is not None else {}
            return {item.target.id: eval(ast.unparse(item.annotation), namespace)
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)}
    return {}


def load_manifest(path: Path) -> dict[str, str]:
    """Module name -> sha256 of the source it was compiled from ({} when there is no build)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    modules = data.get("modules") if isinstance(data, dict) else None
    return dict(modules) if isinstance(modules, dict) else {}


def stale_sources(root: Path, manifest: dict[str, str]) -> list[str]:
    """The manifest's modules whose source is missing or no longer has the recorded hash."""
    stale = []
    for module, digest in sorted(manifest.items()):
        try:
            now = hashlib.sha256(source_path(root, module).read_bytes()).hexdigest()
        except OSError:
            now = ""
        if now != digest:
            stale.append(module)
    return stale


def _pure(env: dict[str, str]) -> bool:
    return env.get("ACTIVEKV_PURE", "") not in ("", "0")


def decide(manifest: dict[str, str], stale: list[str], env: dict[str, str]) -> tuple[bool, str]:
    """(use the compiled modules, why not — '' when they are used or there are none)."""
    if not manifest:
        return False, ""
    if _pure(env):
        return False, "ACTIVEKV_PURE is set"
    if stale:
        return False, "source changed since the build: " + ", ".join(stale)
    return True, ""


class SourceOverExtension(importlib.abc.MetaPathFinder):
    """Loads ``.py`` instead of an extension module that must not run (see the module doc)."""

    def __init__(self, manifest: dict[str, str], compiled: bool) -> None:
        self.manifest = manifest
        self.compiled = compiled

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == GROUP:  # the compiled modules' shared library, beside the packages
            if not self.compiled:
                return None
            for lib in ROOT.glob(GROUP + ".*"):
                if lib.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
                    loader = importlib.machinery.ExtensionFileLoader(fullname, str(lib))
                    return importlib.util.spec_from_file_location(fullname, lib, loader=loader)
            return None
        if fullname.partition(".")[0] not in PACKAGES or path is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return None
        if self.compiled and fullname in self.manifest:
            return spec
        assert spec.origin is not None
        source = Path(spec.origin).parent / (fullname.rpartition(".")[2] + ".py")
        if not source.exists():
            return spec  # an extension without a source: nothing else to run
        return importlib.util.spec_from_file_location(fullname, source)


_state: dict[str, object] = {}


def status() -> dict[str, object]:
    """What install() decided: compiled (bool), reason (str), stale (list of modules)."""
    return dict(_state)


def install() -> None:
    """Check the build once per process and put the finder in front (idempotent)."""
    if _state:
        return
    env = dict(os.environ)
    manifest = load_manifest(MANIFEST)
    stale = stale_sources(ROOT, manifest) if manifest and not _pure(env) else []
    compiled, reason = decide(manifest, stale, env)
    _state.update(compiled=compiled, reason=reason, stale=stale)
    if stale:
        message = (f"activekv: compiled modules are stale ({reason}); {REBUILD_HINT}")
        if os.environ.get("ACTIVEKV_STALE", "") == "error":
            raise StaleBuild(message)
        sys.stderr.write(message + "; running the pure-Python sources\n")
    sys.meta_path.insert(0, SourceOverExtension(manifest, compiled))
