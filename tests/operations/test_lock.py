"""The lock files are complete and consistent, so an install never has to resolve anything.

`make venv` installs every locked package with ``--no-deps`` (decision 0020): a requirement that
some locked package declares but the lock does not name would simply be missing on a fresh
machine. These tests read each locked distribution's own metadata (its ``Requires-Dist`` with
extras and environment markers), follow the extras that are asked for, and check that every
requirement that applies here is itself locked at a version that satisfies it.
"""

from __future__ import annotations

import importlib.metadata as md
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def read_lock(path: Path) -> dict[str, Version]:
    """Name → pinned version of every package a lock file names (each with its hashes)."""
    text = path.read_text(encoding="utf-8")
    pins = {canonicalize_name(name): Version(version) for name, version in PIN.findall(text)}
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    for entry in entries:
        if PIN.match(entry):
            assert "--hash=sha256:" in entry, f"{path.name}: no hash for {entry.splitlines()[0]}"
    return pins


def missing_requirements(
    lock: Mapping[str, Version],
    roots: Iterable[Requirement],
    requires: Mapping[str, list[Requirement]],
) -> list[str]:
    """What the lock lacks for ``roots`` and everything they need, with the extras asked for.

    ``requires`` gives each locked distribution's declared requirements. Returns one line per
    requirement that applies on this machine but is not locked, or locked at a version outside
    its specifier.
    """
    environment = default_environment()
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, Requirement]] = [("pyproject.toml", req) for req in roots]
    while todo:
        wanted_by, req = todo.pop()
        name = canonicalize_name(req.name)
        if name not in lock:
            problems.append(f"{req} (wanted by {wanted_by}) is not in the lock")
            continue
        if req.specifier and not req.specifier.contains(lock[name], prereleases=True):
            problems.append(f"{req} (wanted by {wanted_by}) but the lock has {name}=={lock[name]}")
        for extra in ("", *sorted(req.extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for dep in requires.get(name, []):
                if dep.marker is None or dep.marker.evaluate({**environment, "extra": extra}):
                    # A requirement guarded by an extra applies only when that extra is asked for;
                    # evaluate() with extra="" is false for those.
                    todo.append((f"{name}[{extra}]" if extra else name, dep))
    return problems


def installed_requirements(names: Iterable[str]) -> dict[str, list[Requirement]]:
    requires: dict[str, list[Requirement]] = {}
    for name in names:
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        requires[name] = [Requirement(line) for line in dist.requires or []]
    return requires


def project_requirements(*, extras: tuple[str, ...] = ()) -> list[Requirement]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(line) for line in project["dependencies"]]
    for extra in extras:
        reqs += [Requirement(line) for line in project["optional-dependencies"][extra]]
    return reqs


@pytest.mark.parametrize(
    ("lock_file", "extras"),
    [("lock.txt", ()), ("dev.txt", ("dev",))],
    ids=["runtime lock", "dev lock"],
)
def test_every_requirement_of_every_locked_package_is_locked_at_a_version_that_fits(
    lock_file: str, extras: tuple[str, ...]
) -> None:
    lock = read_lock(REQUIREMENTS / lock_file)
    requires = installed_requirements(lock)
    not_installed = sorted(set(lock) - set(requires))
    assert not not_installed, f"locked but not installed in this venv: {not_installed}"
    assert missing_requirements(lock, project_requirements(extras=extras), requires) == []


def test_runtime_and_bootstrap_pins_are_the_dev_locks_pins() -> None:
    dev = read_lock(REQUIREMENTS / "dev.txt")
    for other in ("lock.txt", "bootstrap.txt"):
        pins = read_lock(REQUIREMENTS / other)
        differ = {n: (v, dev.get(n)) for n, v in pins.items() if n in dev and dev[n] != v}
        assert differ == {}, f"{other} and dev.txt pin different versions: {differ}"
    runtime_only = set(read_lock(REQUIREMENTS / "lock.txt")) - set(dev)
    assert runtime_only == set(), f"in lock.txt but not in dev.txt: {runtime_only}"


def test_installed_versions_are_the_locked_versions() -> None:
    lock = read_lock(REQUIREMENTS / "dev.txt")
    differ = {}
    for name, version in lock.items():
        try:
            installed = Version(md.version(name))
        except md.PackageNotFoundError:
            continue
        if installed != version:
            differ[name] = (str(version), str(installed))
    assert differ == {}, f"installed versions differ from the lock (locked, installed): {differ}"


def test_the_check_notices_an_extras_package_missing_from_the_lock() -> None:
    """weasyprint asks for fonttools[woff], which brings brotli and zopfli: drop zopfli."""
    lock = read_lock(REQUIREMENTS / "lock.txt")
    requires = installed_requirements(lock)
    assert "zopfli" in lock
    without = {name: version for name, version in lock.items() if name != "zopfli"}
    problems = missing_requirements(without, project_requirements(), requires)
    wanted = 'zopfli>=0.1.4; extra == "woff" (wanted by fonttools[woff]) is not in the lock'
    assert problems == [wanted]


def test_the_check_notices_a_pin_outside_a_dependents_specifier() -> None:
    lock = read_lock(REQUIREMENTS / "lock.txt")
    requires = installed_requirements(lock)
    older = {**lock, "fonttools": Version("4.0.0")}
    problems = missing_requirements(older, project_requirements(), requires)
    assert any("fonttools" in p and "the lock has fonttools==4.0.0" in p for p in problems)


def test_a_new_direct_dependency_that_was_not_relocked_is_noticed() -> None:
    lock = read_lock(REQUIREMENTS / "lock.txt")
    requires = installed_requirements(lock)
    roots = [*project_requirements(), Requirement("some-new-package==1.0")]
    problems = missing_requirements(lock, roots, requires)
    assert problems == ["some-new-package==1.0 (wanted by pyproject.toml) is not in the lock"]
