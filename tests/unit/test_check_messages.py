"""The grid speaks French to the evaluator: every assertion a check makes carries its own sentence, so no
raw `assert … ==` diff ever reaches the grid (the plugin shows the assertion's message as the verdict)."""
from __future__ import annotations

import ast
from pathlib import Path

CHECKS = Path(__file__).resolve().parents[2] / "checks"


def test_every_assertion_of_every_check_has_a_message():
    bare = []
    for path in sorted(CHECKS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assert) and node.msg is None:
                bare.append(f"{path.relative_to(CHECKS.parent)}:{node.lineno}")
    assert not bare, f"assertions without a French message: {', '.join(bare)}"
