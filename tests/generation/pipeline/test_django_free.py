"""Nothing under generation/pipeline imports Django or the site package: settings come in
as arguments and dataclasses, errors are the pipeline's own (read from the source, so a
lazy import inside a function counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[3] / "generation" / "pipeline"
FORBIDDEN = ("django", "paksatalker_site")


def _imported_names(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            # importlib.import_module("...") and __import__("...")
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.append(node.args[0].value)
    return names


def _forbidden(names: list[str]) -> list[str]:
    return [name for name in names if name.split(".")[0] in FORBIDDEN]


MODULES = sorted(PIPELINE.rglob("*.py"))


def test_the_pipeline_has_modules():
    assert len(MODULES) > 30 and PIPELINE / "media.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PIPELINE)))
def test_module_imports_neither_django_nor_the_site(path):
    assert _forbidden(_imported_names(ast.parse(path.read_text(), str(path)))) == []


def test_the_check_sees_every_kind_of_import():
    source = (
        "import django.conf\n"
        "def f():\n    from paksatalker_site.env import env_str\n"
        "import importlib\nimportlib.import_module('django.db')\n"
        "from . import sibling\nimport numpy\n"
    )
    assert _forbidden(_imported_names(ast.parse(source))) == ["django.conf", "paksatalker_site.env", "django.db"]
