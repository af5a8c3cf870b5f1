"""The installed package holds every file its code reads, and a missing data file is an error."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from index.glossary import GLOSSARY_FILE, glossary, load_glossary

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kb", "ingest", "index", "ui")


def _data_files() -> set[str]:
    """Every file in the packages that is not Python source: what the code reads beside its
    modules, as a path inside the wheel."""
    out = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            source = path.suffix in (".py", ".pyc") or "__pycache__" in path.parts
            if path.is_file() and not source:
                out.add(path.relative_to(ROOT).as_posix())
    return out


def test_a_missing_glossary_is_an_error_not_an_empty_glossary(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"glossary .*nowhere\.tsv is missing"):
        load_glossary(tmp_path / "nowhere.tsv")
    assert len(glossary().nl_en) >= 300  # the shipped one loads


@pytest.mark.integration
def test_the_wheel_holds_every_data_file(tmp_path):
    data = _data_files()
    assert GLOSSARY_FILE.relative_to(ROOT).as_posix() in data  # the list is not empty by mistake
    # Built from a copy, so the checkout gets no build/ folder; no build isolation, so it
    # works offline (setuptools is a dev dependency).
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(dist)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = dist.glob("mrdh_kb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert data - names == set()
    # and the code itself, so that the check above looked at the right archive
    assert {"index/glossary.py", "kb/__init__.py", "ui/__init__.py"} <= names
