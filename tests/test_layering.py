"""The layering of the tree (DESIGN §2): the OCPP-J wire layer stands on nothing of the project, the simulator
and the bundled CSMS stand on the wire layer only, and the sans-I/O cores import no I/O library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_LIBRARIES = {"asyncio", "websockets", "aiohttp", "aiosqlite", "socket"}


def imported_roots(package: str) -> dict[str, set[str]]:
    """Top-level module names each file of ``package`` imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        roots: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = roots
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("ocppj", {"harness", "simulator", "csms"}),
        ("simulator", {"harness", "csms"}),
        ("csms", {"harness", "simulator"}),
    ],
)
def test_a_part_does_not_lean_on_the_parts_above_it(package: str, forbidden: set[str]) -> None:
    leaks = {path: sorted(roots & forbidden) for path, roots in imported_roots(package).items() if roots & forbidden}
    assert leaks == {}


@pytest.mark.parametrize("package", ["ocppj", "harness/scenario", "simulator/model"])
def test_sans_io_cores_import_no_io_library(package: str) -> None:
    found = imported_roots(package)
    assert {path: sorted(roots & IO_LIBRARIES) for path, roots in found.items() if roots & IO_LIBRARIES} == {}
