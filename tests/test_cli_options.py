"""Options that a message suggests exist: every `--option` written anywhere in uptake's words is a real option,
and every command that reads rows offers the same row options."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import typer

from uptake.cli import app

SRC = Path(__file__).resolve().parents[1] / "src" / "uptake"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")
ROW_OPTIONS = {"--sheet", "--skip-invalid", "--strict", "--range-margin"}


def _commands() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}

    def walk(group: object, prefix: str) -> None:
        for name, sub in getattr(group, "commands", {}).items():
            full = f"{prefix} {name}".strip()
            if getattr(sub, "commands", None):
                walk(sub, full)
            else:
                out[full] = {
                    o for p in sub.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]
                }

    walk(typer.main.get_command(app), "")
    return out


COMMANDS = _commands()


def _named_options() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for option in OPTION.findall(node.value):
                    found.setdefault(option, set()).add(str(path.relative_to(SRC)))
    return found


def test_every_option_a_message_names_exists() -> None:
    every = set().union(*COMMANDS.values()) | {"--help"}
    named = _named_options()
    assert len(named) > 40  # the scan finds uptake's words
    assert {o: sorted(f) for o, f in named.items() if o not in every} == {}


@pytest.mark.parametrize("command", ["predict", "evaluate", "plan", "fairness", "tune-threshold"])
def test_commands_that_read_rows_offer_the_same_row_options(command: str) -> None:
    assert COMMANDS[command] >= ROW_OPTIONS, sorted(ROW_OPTIONS - COMMANDS[command])


def test_the_report_reads_rows_with_the_same_policy_options() -> None:
    # the report always leaves invalid rows out and says how many (its own rule): no --skip-invalid to offer
    assert ROW_OPTIONS - {"--skip-invalid"} <= COMMANDS["report"]
