"""The layers as a checked contract: ui -> kb -> ingest, index (pyproject.toml, import-linter),
and no package reaching into another package's private (`_x`) names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kb", "ingest", "index", "ui")
# The tests too use the packages' public names only (a private helper is free to change).
CHECKED = (*PACKAGES, "tests")


def test_import_contracts_hold():
    # The console script beside this interpreter: the venv's, whatever PATH says.
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists(), f"{lint} is missing: import-linter is a dev dependency"
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[done.stdout.find("Broken contracts"):] or done.stderr


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str, package: str) -> list[str]:
    """Where code of `package` uses a private name of another of our packages: `from x import
    _y`, `import x._y`, or `x._y` on a name bound to something imported from x."""
    found = []
    foreign: dict[str, str] = {}  # local name -> the package it was imported from
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.split(".")[0]
            if top not in PACKAGES or top == package:
                continue
            if any(_private(part) for part in node.module.split(".")):
                found.append(f"l.{node.lineno} from {node.module} import ...")
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"l.{node.lineno} from {node.module} import {alias.name}")
                foreign[alias.asname or alias.name] = top
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top not in PACKAGES or top == package:
                    continue
                if any(_private(part) for part in alias.name.split(".")):
                    found.append(f"l.{node.lineno} import {alias.name}")
                foreign[alias.asname or top] = top
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):  # index.lexical._stemmer: look at `index`
                if _private(base.attr):
                    break
                base = base.value
            if isinstance(base, ast.Name) and base.id in foreign:
                found.append(f"l.{node.lineno} {ast.unparse(node)}")
    return sorted(set(found))


def test_the_private_name_check_sees_each_form():
    code = (
        "from index.lexical import _stemmer, tokens\n"
        "import ingest._pdf\n"
        "from kb import core\n"
        "import index.glossary as g\n"
        "core._prepare(1)\n"
        "g._key('a', 'nl')\n"
        "tokens._cache\n"
        "from kb.core import _write_lock\n"  # own package: allowed
        "self._x\n"
    )
    assert private_uses(code, "kb") == [
        "l.1 from index.lexical import _stemmer",
        "l.2 import ingest._pdf",
        "l.6 g._key",
        "l.7 tokens._cache",
    ]


def test_no_package_uses_another_packages_private_names():
    found = []
    for package in CHECKED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for use in private_uses(path.read_text(encoding="utf-8"), package):
                found.append(f"{path.relative_to(ROOT)} {use}")
    assert found == []
