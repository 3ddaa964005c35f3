"""What `pip install .` gets: every imported package declared as a dependency, and a wheel that
carries what the app reads at run time (gunicorn settings, templates, static files, migrations)."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("ivr", "staffing", "forecasts")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement ("psycopg[binary]>=3.1" -> psycopg)."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(folder: Path) -> dict[str, str]:
    """Top-level modules imported anywhere under ``folder`` (absolute imports), with a file that
    imports each."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(REPO)))
    return found


def undeclared(folders: list[Path], declared: set[str]) -> list[str]:
    provided_by = importlib.metadata.packages_distributions()
    missing = []
    for module, where in sorted(
        {m: w for f in folders for m, w in imported_modules(f).items()}.items()
    ):
        if module in sys.stdlib_module_names or module in (*PACKAGES, "tests", "benchmarks"):
            continue
        distributions = {_name(d) for d in provided_by.get(module, [])}
        if not distributions & declared:
            missing.append(f"{module} (imported by {where}; from {distributions or '?'})")
    return missing


def test_every_package_the_code_imports_is_a_declared_dependency():
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert undeclared([REPO / p for p in PACKAGES], declared) == []


def test_every_package_the_tests_import_is_declared_for_them():
    project = PYPROJECT["project"]
    declared = {
        _name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]
    }
    assert undeclared([REPO / "tests"], declared) == []


def test_the_gunicorn_conf_of_the_checkout_is_the_packages():
    import runpy

    shim = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    package = runpy.run_path(str(REPO / "ivr" / "gunicorn_conf.py"))
    names = {
        n for n in package if not n.startswith("_") and n not in ("multiprocessing", "settings")
    }
    assert names <= set(shim)
    assert {n: shim[n] for n in names if not callable(shim[n])} == {
        n: package[n] for n in names if not callable(package[n])
    }


def _can_build_offline() -> bool:
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(x) for x in version.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.mark.skipif(not _can_build_offline(), reason="needs setuptools>=70.1 (or wheel) here")
def test_the_wheel_carries_what_the_app_reads_at_run_time(tmp_path):
    source = tmp_path / "src"  # a copy: building writes build/ and *.egg-info next to the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", str(source), "-w", str(tmp_path / "dist")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("hotline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    def shipped(folder: str, pattern: str) -> set[str]:
        return {
            p.relative_to(REPO).as_posix() for p in (REPO / folder).glob(pattern) if p.is_file()
        }

    expected = (
        {"ivr/gunicorn_conf.py", "ivr/store/migrations/env.py"}
        | shipped("ivr/web/templates", "*.html")
        | shipped("ivr/web/static", "*")
        | shipped("ivr/web/static/vendor", "*.js")  # `make assets`: the pages' npm libraries
        | shipped("ivr/store/migrations", "*.mako")
        | shipped("ivr/store/migrations/versions", "*.py")
    )
    assert len(expected) > 10
    assert expected - names == set()
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = {
        _name(line.removeprefix("Requires-Dist: "))
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    }
    assert {"babel", "click", "werkzeug", "markupsafe", "gunicorn"} <= requires
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "hotline = ivr.cli:cli" in zipfile.ZipFile(wheel).read(entry_points).decode()
