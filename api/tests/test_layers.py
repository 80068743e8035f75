"""The parts of the package keep to their boundaries (docs/architecture.md, "Parts and
boundaries"): checked on the imports themselves, so a shortcut across a layer fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .support.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "api/src/llm_gateway"

# part (a sub-package or module of llm_gateway) → the parts it must never import.
NEVER = {
    "backends": {
        "routes",
        "service",
        "render",
        "translate",
        "middleware",
        "app",
        "config",
        "store",
    },
    "protocol": {"backends", "service", "routes", "render", "translate", "store", "middleware"},
    "service": {"routes", "render", "translate", "middleware", "app"},
    "translate": {"routes", "render", "middleware", "app"},
    "render": {"routes", "translate", "store", "middleware", "app"},
    "store": {"routes", "backends", "service", "render", "translate", "middleware"},
    "middleware": {"backends", "service", "render", "translate", "routes"},
    "observability": {"routes", "backends", "service", "render", "translate", "middleware"},
    "context": {"routes", "render", "translate", "middleware", "app", "backends"},
    "lifecycle": {"routes", "render", "translate", "middleware", "app", "service", "backends"},
}


def imported_parts(path: Path) -> set[str]:
    """The top-level parts of llm_gateway a module imports (at run time or for typing)."""
    here = path.relative_to(PACKAGE).parts[:-1]
    parts = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                target = [*base, *(node.module or "").split(".")] if node.module else list(base)
                names = [target] if node.module else [[*base, a.name] for a in node.names]
            elif (node.module or "").startswith("llm_gateway."):
                names = [node.module.split(".")[1:]]  # type: ignore[union-attr]
            else:
                continue
            parts |= {name[0] for name in names if name and name[0]}
    return parts


def part_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


@pytest.mark.parametrize("part", sorted(NEVER))
def test_a_part_never_imports_what_it_must_not(part: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {sorted(imported_parts(path) & NEVER[part])}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if part_of(path) == part and imported_parts(path) & NEVER[part]
    ]
    assert not offenders


def test_the_check_resolves_relative_imports() -> None:
    """The checker itself: `from ..service import …` in render/chat.py is the part `service`,
    `from .sse import …` its own part, and llama's `from ...errors` the part `errors`."""
    assert {"service", "backends", "render"} <= imported_parts(PACKAGE / "render/chat.py")
    assert "errors" in imported_parts(PACKAGE / "backends/llama/backend.py")
