"""The shape docs/architecture.md promises: layers that import only downwards, small modules,
one decision rule, and imports inside functions only with a reason."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "uptake"
MODULES = sorted(SRC.rglob("*.py"))


def test_layers_import_only_downwards() -> None:
    """import-linter's layers contract in pyproject.toml (function-level imports count too)."""
    lint = Path(sys.executable).with_name("lint-imports")
    res = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 kept, 0 broken" in res.stdout


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_over_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 400


def test_the_decision_rule_exists_in_one_place() -> None:
    deciders = [p for p in MODULES if re.search(r">=\s*(self\.)?_?(threshold|thr)\b", p.read_text())]
    assert [str(p.relative_to(SRC)) for p in deciders] == ["decide/decision.py"]


def _inner_imports(tree: ast.AST) -> list[ast.stmt]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out += [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_inside_functions_say_why(path: Path) -> None:
    """Only to keep start-up fast (Keras, JAX, the CLI's heavy libraries), with a one-line reason beside them.

    Consecutive imports form a block; the reason sits on (or just above) the block's first import.
    """
    lines = path.read_text().splitlines()
    nodes = sorted(_inner_imports(ast.parse("\n".join(lines))), key=lambda n: n.lineno)
    previous_end = 0
    for node in nodes:
        if any(lines[i].strip() for i in range(previous_end, node.lineno - 1)):  # code between: a new block
            first = range(node.lineno - 2, node.end_lineno)
            assert any("#" in lines[i] for i in first), (
                f"{path}:{node.lineno}: import inside a function without a reason"
            )
        previous_end = node.end_lineno
