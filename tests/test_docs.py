"""Docs cannot drift: every setting and every CLI command is documented in README.md."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from core.settings import Settings
from newswatch.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"NEWSWATCH_{f.name.upper()}" for f in fields(Settings)
        if f.name != "config_file" and f.name.upper() not in README
    ]
    assert missing == []
    assert "NEWSWATCH_CONFIG" in README


def test_every_command_is_in_the_readme() -> None:
    import click

    names: list[str] = []
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            names += [f"{name} {sub}" for sub in command.commands]
        else:
            names.append(name)
    missing = [n for n in names if n.split()[-1] not in README]
    assert missing == []
