"""The lock files: every package pinned and hashed, and in step with pyproject.toml.

A dependency added to pyproject.toml without `make lock` fails here with the command to run
(and `make` itself stops at `pip check`), rather than in the image build.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
LOCKS = ("requirements.lock", "requirements-dev.lock", "requirements-tools.lock")
STALE = "the lock files are behind pyproject.toml: run `make lock`"

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$")


def pins(lock: str) -> dict[str, list[tuple[str, str, int]]]:
    """Each package of `lock`: its (version, marker, number of hashes) entries."""
    found: dict[str, list[tuple[str, str, int]]] = {}
    entry: list[tuple[str, str, int]] | None = None
    for line in (ROOT / lock).read_text("utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line.startswith((" ", "\t")):
            assert entry is not None and stripped.startswith("--hash=sha256:"), (lock, line)
            version, marker, hashes = entry[-1]
            entry[-1] = (version, marker, hashes + 1)
            continue
        match = _PIN.match(line)
        assert match, f"{lock}: not an exact pin: {line!r}"
        entry = found.setdefault(canonicalize_name(match["name"]), [])
        entry.append((match["version"], (match["marker"] or "").strip(), 0))
    return found


@pytest.mark.parametrize("lock", LOCKS)
def test_every_package_is_pinned_with_its_hashes(lock: str) -> None:
    found = pins(lock)
    assert found
    unhashed = [name for name, entries in found.items() for *_, hashes in entries if not hashes]
    assert unhashed == []


def _satisfied(requirements: list[str], lock: str) -> None:
    found = pins(lock)
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in found, f"{lock} has no {requirement.name}: {STALE}"
        versions = [version for version, _, _ in found[name]]
        assert any(requirement.specifier.contains(v, prereleases=True) for v in versions), (
            f"{lock} pins {requirement.name} at {versions}, outside {requirement.specifier}: {STALE}"
        )


def test_runtime_lock_holds_the_dependencies_and_the_build_backend() -> None:
    _satisfied(PYPROJECT["project"]["dependencies"], "requirements.lock")
    _satisfied(PYPROJECT["dependency-groups"]["build"], "requirements.lock")


def test_dev_lock_holds_the_dev_tools_at_the_runtime_pins() -> None:
    dev_requirements = PYPROJECT["project"]["optional-dependencies"]["dev"]
    _satisfied(PYPROJECT["project"]["dependencies"] + dev_requirements, "requirements-dev.lock")
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    for name, entries in runtime.items():
        assert [e[:2] for e in dev.get(name, [])] == [e[:2] for e in entries], (name, STALE)


def test_tools_lock_holds_pip_and_uv() -> None:
    _satisfied(PYPROJECT["dependency-groups"]["tools"], "requirements-tools.lock")


def test_build_group_is_the_build_system() -> None:
    """The lock pins the backend that pyproject.toml declares for building the project."""
    assert PYPROJECT["dependency-groups"]["build"] == PYPROJECT["build-system"]["requires"]
