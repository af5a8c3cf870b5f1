"""The README stays true: every setting and every command is documented."""

from kb.settings import SETTINGS
from tests.conftest import ROOT
from ui.cli import cli

README = (ROOT / "README.md").read_text()


def test_readme_lists_every_setting():
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in README]
    assert not missing


def test_readme_lists_every_command():
    missing = [name for name in cli.commands if f"`kb {name}" not in README]
    assert not missing


def test_readme_starts_with_the_two_commands():
    head = README[:1500]
    assert "make run" in head and "make test" in head
