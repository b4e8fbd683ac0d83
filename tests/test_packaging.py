"""Packaging: a plain (non-editable) install holds every subpackage and imports from outside the
repository; pyproject.toml declares every distribution the code imports; the locks pin them."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "dashboard")  # what the wheel ships
SOURCES = ("core", "dashboard", "pages")  # whose imports must be declared
LOCKS = {"requirements.lock": (), "requirements-dev.lock": ("dev",)}  # lock -> extras it covers
SMOKE_IMPORTS = (
    "core.seismic.waveform_formats",
    "core.models.zoo.phasenet",
    "core.data.registry",
    "core.runs.store",
    "dashboard.figures",
)
# Left out of the copy the test builds from: generated, local or big, never part of the wheel.
NOT_COPIED_AT_TOP = {".git", ".venv", ".venv-bench", "build", "runs", "data", "artifacts"}
NOT_COPIED = {"__pycache__", ".pytest_cache", ".ruff_cache"}
# scripts/setup.sh with TFLAB_GPU=1 installs tensorflow[and-cuda] in place of tensorflow-cpu.
SAME_DISTRIBUTION = {"tensorflow": "tensorflow-cpu"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*(?:#.*)?$")


def normalize(name: str) -> str:
    name = re.sub(r"[-_.]+", "-", name).lower()
    return SAME_DISTRIBUTION.get(name, name)


def declared(extras: tuple[str, ...] = ()) -> dict[str, Requirement]:
    """pyproject.toml's dependencies (plus the given extras), by normalized name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project.get("dependencies", []))
    for extra in extras:
        lines += project.get("optional-dependencies", {}).get(extra, [])
    return {normalize(req.name): req for req in map(Requirement, lines)}


def read_lock(name: str) -> dict[str, str]:
    """The lock's pins {normalized name: version}; fails on anything that is not a `==` pin."""
    pins, bad = {}, []
    for number, line in enumerate((ROOT / name).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = PIN.match(line.strip())
        if match is None:
            bad.append(f"{name}:{number}: {line.strip()}")
        else:
            pins[normalize(match[1])] = match[2]
    assert not bad, "lock lines that are not exact `name==version` pins:\n" + "\n".join(bad)
    return pins


def package_names(root: Path) -> set[str]:
    """Dotted names of the package folders (with an __init__.py) under root's core/, dashboard/."""
    return {
        ".".join(init.parent.relative_to(root).parts)
        for top in PACKAGES
        if (root / top).is_dir()
        for init in (root / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def module_files(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for top in PACKAGES
        if (root / top).is_dir()
        for path in (root / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A non-editable, no-dependencies install of a fresh copy of the repository (the copy keeps
    setuptools' build/ cache of earlier builds from filling in what the config misses)."""
    base = tmp_path_factory.mktemp("packaging")
    source, target = base / "source", base / "target"

    def skip(folder: str, names: list[str]) -> set[str]:
        top = Path(folder).resolve() == ROOT
        return {
            n
            for n in names
            if n in NOT_COPIED or n.endswith(".egg-info") or (top and n in NOT_COPIED_AT_TOP)
        }

    shutil.copytree(ROOT, source, ignore=skip, symlinks=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--no-build-isolation", "--no-compile", "--target", target, source]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip install . failed:\n{done.stdout}\n{done.stderr}"
    return target


def test_install_holds_every_package_and_module(installed):
    expected = package_names(ROOT)
    assert {"core", "core.seismic", "core.models.zoo", "dashboard"} <= expected
    missing = sorted(expected - package_names(installed))
    assert not missing, f"packages a non-editable install leaves out: {missing}"
    missing = sorted(module_files(ROOT) - module_files(installed))
    assert not missing, f"modules a non-editable install leaves out: {missing}"
    tops = {p.name for p in installed.iterdir() if (p / "__init__.py").is_file()}
    assert tops == set(PACKAGES), f"top-level packages installed: {sorted(tops)}"


def test_installed_copy_imports_from_outside_the_repository(installed, tmp_path):
    code = (
        "import importlib, json, sys\n"
        f"names = {list(SMOKE_IMPORTS)!r}\n"
        "json.dump({n: importlib.import_module(n).__file__ for n in names}, sys.stdout)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    env.update(
        PYTHONPATH=str(installed),
        TF_CPP_MIN_LOG_LEVEL="3",
        TFLAB_RUNS_DIR=str(tmp_path / "runs"),
        TFLAB_DATA_ROOT=str(tmp_path / "data"),
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"imports failed outside the repository:\n{done.stderr}"
    files = json.loads(done.stdout.strip().splitlines()[-1])
    for name, file in files.items():
        path = Path(file).resolve()
        assert path.is_relative_to(installed.resolve()), f"{name} came from {path}, not the install"
        assert not path.is_relative_to(ROOT), f"{name} came from the repository: {path}"


def third_party_imports() -> dict[str, list[str]]:
    """{dotted module: [file:line, ...]} for every absolute import of a non-stdlib, non-local
    module in core/, dashboard/ and pages/."""
    local = set(SOURCES)
    found: dict[str, list[str]] = {}
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    head = name.split(".")[0]
                    if head in sys.stdlib_module_names or head in local:
                        continue
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.setdefault(name, []).append(where)
    return found


def distributions_of(module: str, index: dict[str, list[str]]) -> set[str]:
    """Installed distributions providing module; for a namespace shared by several (google.*),
    the ones whose files hold the module's own folder or file."""
    parts = module.split(".")
    candidates = set(index.get(parts[0], []))
    if len(candidates) > 1 and len(parts) > 1:
        prefix = "/".join(parts[:2])
        narrowed = {
            dist
            for dist in candidates
            if any(
                str(f).startswith((prefix + "/", prefix + ".py"))
                for f in importlib.metadata.distribution(dist).files or []
            )
        }
        candidates = narrowed or candidates
    return {normalize(dist) for dist in candidates}


def test_every_imported_distribution_is_declared():
    imports = third_party_imports()
    assert {"numpy", "tensorflow", "streamlit"} <= {m.split(".")[0] for m in imports}
    index = importlib.metadata.packages_distributions()
    wanted = set(declared())
    problems = []
    for module, places in sorted(imports.items()):
        dists = distributions_of(module, index)
        if not dists:
            problems.append(f"{module} (imported at {places[0]}) is not installed")
        elif not dists & wanted:
            problems.append(
                f"{module} (imported at {places[0]}) comes from {sorted(dists)}, which "
                "pyproject.toml [project] dependencies does not declare"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_pins_every_declared_dependency(lock):
    pins = read_lock(lock)
    problems = []
    for name, req in sorted(declared(LOCKS[lock]).items()):
        if name not in pins:
            problems.append(f"{req} is not pinned")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}=={pins[name]} does not satisfy {req}")
    assert not problems, f"{lock} is out of date (run bash scripts/lock.sh):\n" + "\n".join(
        problems
    )


def test_dev_lock_keeps_the_runtime_pins():
    runtime, dev = read_lock("requirements.lock"), read_lock("requirements-dev.lock")
    differ = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert not differ, f"requirements-dev.lock differs from requirements.lock: {differ}"


def test_venv_has_the_locked_versions():
    """What scripts/setup.sh --dev (scripts/test.sh runs it) installed is what the lock says."""
    pins = read_lock("requirements-dev.lock")
    wrong = []
    for name, version in sorted(pins.items()):
        candidates = [name] + [k for k, v in SAME_DISTRIBUTION.items() if v == name]
        installed = None
        for candidate in candidates:
            try:
                installed = importlib.metadata.version(candidate)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        if installed is None or Version(installed) != Version(version):
            wrong.append(f"{name}: locked {version}, installed {installed}")
    assert not wrong, "run bash scripts/setup.sh --dev:\n" + "\n".join(wrong)


def test_installed_copy_keeps_runs_and_data_in_the_current_folder(installed, tmp_path):
    """Outside a checkout, runs/ and data/ default to the folder the user starts it in."""
    code = "import core.paths as p; print(p.runs_dir()); print(p.data_root())"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFLAB_")}
    env.pop("PYTHONSAFEPATH", None)
    env["PYTHONPATH"] = str(installed)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    runs, data = done.stdout.split()
    assert (
        Path(runs) == (tmp_path / "runs").resolve() and Path(data) == (tmp_path / "data").resolve()
    )
