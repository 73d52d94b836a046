"""The engine is pure Python: nothing under engine/ may import Django or its ecosystem."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
BANNED = ("django", "rest_framework", "channels", "celery")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_it_finds_the_engine_sources() -> None:
    assert len(list(ENGINE.rglob("*.py"))) >= 10


def test_no_engine_module_imports_django_or_friends() -> None:
    offenders = [
        f"{path.relative_to(ENGINE.parent)} imports {name}"
        for path in sorted(ENGINE.rglob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in BANNED
    ]
    assert offenders == []


def test_the_check_itself_catches_a_banned_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import json\nfrom django.conf import settings\nimport celery.app\n")
    assert [n for n in _imports(sample) if n.split(".")[0] in BANNED] == [
        "django.conf",
        "celery.app",
    ]
