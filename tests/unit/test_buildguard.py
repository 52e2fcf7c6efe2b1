"""The mypyc build's import-time guard (activekv_buildguard.py): a compiled module whose source
changed since the build never runs; ACTIVEKV_PURE=1 runs the sources."""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import activekv_buildguard as guard
import crdt.clock

REPO = Path(guard.__file__).resolve().parent
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_changed_or_missing_source_is_stale_and_the_build_is_then_not_used(tmp_path: Path) -> None:
    (tmp_path / "crdt").mkdir()
    (tmp_path / "crdt" / "clock.py").write_bytes(b"X = 1\n")
    (tmp_path / "crdt" / "codec.py").write_bytes(b"Y = 2\n")
    manifest = {"crdt.clock": _digest(b"X = 1\n"), "crdt.codec": _digest(b"Y = 2\n")}
    assert guard.stale_sources(tmp_path, manifest) == []
    assert guard.decide(manifest, [], {}) == (True, "")
    (tmp_path / "crdt" / "codec.py").write_bytes(b"Y = 3\n")  # edited after the build
    stale = guard.stale_sources(tmp_path, manifest)
    assert stale == ["crdt.codec"]
    compiled, why = guard.decide(manifest, stale, {})
    assert not compiled and "crdt.codec" in why
    (tmp_path / "crdt" / "clock.py").unlink()
    assert guard.stale_sources(tmp_path, manifest) == ["crdt.clock", "crdt.codec"]


def test_no_build_or_pure_asked_for_means_the_sources() -> None:
    assert guard.decide({}, [], {}) == (False, "")
    assert guard.decide({"crdt.clock": "x"}, [], {"ACTIVEKV_PURE": "1"})[0] is False
    assert guard.decide({"crdt.clock": "x"}, [], {"ACTIVEKV_PURE": "0"})[0] is True


def test_a_bad_manifest_reads_as_no_build(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    assert guard.load_manifest(path) == {}
    path.write_text("{not json")
    assert guard.load_manifest(path) == {}
    path.write_text(json.dumps({"format": 1, "modules": {"crdt.clock": "ab"}}))
    assert guard.load_manifest(path) == {"crdt.clock": "ab"}


def test_this_process_runs_what_the_guard_decided() -> None:
    state = guard.status()
    compiled = bool(state["compiled"])
    assert crdt.clock.__file__ is not None
    assert crdt.clock.__file__.endswith(SUFFIX) == compiled, state
    if os.environ.get("ACTIVEKV_PURE", "") not in ("", "0"):
        assert not compiled
    elif guard.load_manifest(guard.MANIFEST) and not state["stale"]:
        assert compiled  # a fresh build is used


def _fake_build(tmp_path: Path) -> Path:
    """A tree with package ``crdt`` holding the guard and a module ``mod`` whose 'compiled'
    version is an extension module (a renamed copy of a stdlib extension that cannot import as
    ``crdt.mod``: importing it at all would raise ImportError), and a manifest recording mod.py's
    hash."""
    tree = tmp_path / "tree"
    (tree / "crdt").mkdir(parents=True)
    shutil.copy(guard.__file__, tree / "activekv_buildguard.py")
    (tree / "crdt" / "__init__.py").write_text(
        "import activekv_buildguard\nactivekv_buildguard.install()\n")
    source = b"WHERE = 'source'\n"
    (tree / "crdt" / "mod.py").write_bytes(source)
    import _json
    assert _json.__file__ is not None and _json.__file__.endswith(SUFFIX)
    shutil.copy(_json.__file__, tree / "crdt" / f"mod{SUFFIX}")
    (tree / "crdt" / "_compiled_manifest.json").write_text(
        json.dumps({"format": 1, "modules": {"crdt.mod": _digest(source)}}))
    return tree


def _import_mod(tree: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = "import crdt.mod, activekv_buildguard as g; print(crdt.mod.__file__, g.status()['compiled'])"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ACTIVEKV_")}
    return subprocess.run([sys.executable, "-E", "-c", code], cwd=tree, env={**clean, **env},
                          capture_output=True, text=True, timeout=30)


def test_an_edited_source_is_never_shadowed_by_its_stale_extension(tmp_path: Path) -> None:
    tree = _fake_build(tmp_path)
    fresh = _import_mod(tree)  # fresh build: the extension is what Python loads (and fails)
    assert fresh.returncode != 0 and "ImportError" in fresh.stderr
    (tree / "crdt" / "mod.py").write_text("WHERE = 'edited'\n")
    run = _import_mod(tree)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(tree / "crdt" / "mod.py"), "False"]
    assert "stale" in run.stderr and "crdt.mod" in run.stderr and "make build" in run.stderr
    refused = _import_mod(tree, ACTIVEKV_STALE="error")
    assert refused.returncode != 0 and "StaleBuild" in refused.stderr and "crdt.mod" in refused.stderr


def test_pure_runs_the_source_even_beside_a_fresh_build(tmp_path: Path) -> None:
    tree = _fake_build(tmp_path)
    run = _import_mod(tree, ACTIVEKV_PURE="1")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(tree / "crdt" / "mod.py"), "False"]
    assert run.stderr == ""


def test_an_extension_left_from_an_older_module_list_is_not_used(tmp_path: Path) -> None:
    tree = _fake_build(tmp_path)
    (tree / "crdt" / "_compiled_manifest.json").write_text(
        json.dumps({"format": 1, "modules": {}}))  # mod is no longer compiled
    run = _import_mod(tree)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[0] == str(tree / "crdt" / "mod.py")


def test_the_build_list_matches_the_manifest_of_a_compiled_build() -> None:
    listed = [ln.strip() for ln in (REPO / "compiled_modules.txt").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
    assert listed and all((REPO / p).is_file() for p in listed)
    manifest = guard.load_manifest(guard.MANIFEST)
    if manifest:  # a compiled build records exactly the listed modules
        assert sorted(manifest) == sorted(p.removesuffix(".py").replace("/", ".") for p in listed)


def test_the_compiled_build_imports_from_any_directory(tmp_path: Path) -> None:
    """The compiled modules' shared library sits beside the packages, not in a package: the
    guard finds it there (a server started from another directory must not fail to import)."""
    code = ("import crdt.keyspace, server.connection, activekv_buildguard as g; "
            "print(crdt.keyspace.__file__, g.status()['compiled'])")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed packages
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    where, compiled = run.stdout.split()
    assert where.endswith(SUFFIX) == (compiled == "True") == bool(guard.status()["compiled"])
