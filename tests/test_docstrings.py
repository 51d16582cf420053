"""Every public function documents its parameters (numpydoc ``Parameters`` section).

Click commands are the exception: their options carry their help, and their
docstring is the ``--help`` text.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]


def _is_click_command(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("command", "group")
               for d in node.decorator_list)


def _undocumented(path: Path) -> list[str]:
    out = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                args = node.args
                names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
                names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
                if not [n for n in names if n not in ("self", "cls")] or _is_click_command(node):
                    continue
                if any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
                    continue
                if "Parameters\n----------" not in (ast.get_docstring(node) or ""):
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} {prefix}{node.name}")

    visit(ast.parse(path.read_text(), str(path)).body, "")
    return out


def test_every_public_function_has_a_parameters_section():
    missing = [m for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py")) for m in _undocumented(path)]
    assert not missing, f"{len(missing)} public functions without a numpydoc Parameters section: " + ", ".join(missing)
