"""The built wheel installs into a clean virtual environment and the docs' example test passes
there: the compiled artifacts, the templates and the pytest plugin ship in the wheel, and the
package needs nothing from the source tree.

The clean environment gets the wheel (``pip install --no-deps``) and, instead of downloading the
dependencies again, exactly the installed distributions the wheel's ``Requires-Dist`` reaches
(transitively, extras included) plus pytest's, linked into one directory on its path. A
dependency the package uses but does not declare is therefore missing there, as it would be after
``pip install consentledger``; the development tools of this virtualenv are not visible.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "testing" / "test_plugin_example.py"

pytestmark = pytest.mark.slow


def _run(*command: str | Path, cwd: Path | None = None, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"{command}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def _requirements_of(wheel: Path) -> list[Requirement]:
    """The wheel's own dependencies (not its extras')."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(name).decode().splitlines()
    found = [
        Requirement(line.split(":", 1)[1]) for line in lines if line.startswith("Requires-Dist:")
    ]
    return [r for r in found if r.marker is None or r.marker.evaluate({"extra": ""})]


def _closure(roots: list[Requirement]) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` reach, with the extras each is asked for."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [(r.name, frozenset(r.extras)) for r in roots]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        key = (name.lower().replace("_", "-"), extras)
        if key in done:
            continue
        done.add(key)
        dist = metadata.distribution(name)
        seen[key[0]] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if requirement.marker is None or any(
                requirement.marker.evaluate(env) for env in environments
            ):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return list(seen.values())


def _link(dists: list[metadata.Distribution], into: Path) -> None:
    """Link each distribution's top-level files and directories, and its metadata, into
    ``into``."""
    into.mkdir()
    for dist in dists:
        base = Path(str(dist.locate_file("")))
        for file in dist.files or []:
            if not file.parts or file.parts[0] == ".." or file.suffix == ".pth":
                continue
            top = file.parts[0]
            if top == "__pycache__" or (into / top).exists():
                continue
            (into / top).symlink_to(base / top)


def test_the_wheel_installs_cleanly_and_runs_the_docs_example(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    python = Path(sys.executable)
    _run(python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", dist, ROOT)  # fmt: skip
    (wheel,) = dist.glob("consentledger-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "consentledger = consentledger.testing.plugin" in archive.read(entry_points).decode()
    assert "consentledger/chain/artifacts/ConsentLedger.json" in names
    assert "consentledger/testing/plugin.py" in names
    assert "consentledger/gateway/api_examples.json" in names
    assert "consentledger/audit/templates/report.html.j2" in names
    migrations = sorted(ROOT.glob("src/consentledger/**/migrations"))
    assert migrations, "the journal's and the bureau's Alembic migrations"
    for directory in migrations:  # Alembic's environment, script template and versions
        for file in directory.rglob("*"):
            if file.is_file() and "__pycache__" not in file.parts:
                assert file.relative_to(ROOT / "src").as_posix() in names

    venv = tmp_path / "venv"
    _run(python, "-m", "venv", "--without-pip", venv)
    clean = venv / "bin" / "python"
    site = Path(
        _run(clean, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    _run(python, "-m", "pip", "--python", clean, "install", "--quiet", "--no-deps", wheel)
    needed = _closure([*_requirements_of(wheel), Requirement("pytest")])
    _link(needed, tmp_path / "dependencies")
    (site / "dependencies.pth").write_text(f"{tmp_path / 'dependencies'}\n")

    # The development tools are out of reach; the package is the wheel's, not the source tree's.
    _run(clean, "-c", "import importlib.util as u; assert u.find_spec('hypothesis') is None")
    where = _run(clean, "-c", "import consentledger.testing.plugin as p; print(p.__file__)")
    assert Path(where.strip()).is_relative_to(site), where
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLE, project / EXAMPLE.name)
    out = _run(clean, "-m", "pytest", "-q", "-p", "no:cacheprovider", project, cwd=project)
    assert "2 passed" in out, out
