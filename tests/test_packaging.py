"""What `pip install .` gets: every imported package declared as a dependency."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

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
