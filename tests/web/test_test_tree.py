"""The tests are a house a newcomer can find their way in: every test file in its area's
folder, one name for one file, and fixtures shared through conftest.py only.

Read from the tree and from each test file's own imports (`ast`, imports inside
functions included), so a file added in the wrong place or importing another test
file fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
AREAS = {"records", "breaches", "agencies", "family", "notices", "people", "oversight", "governance", "web", "jobs", "browser"}
TEST_FILES = sorted(p for p in TESTS.rglob("test_*.py") if "node_modules" not in p.parts)


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_every_test_file_is_in_an_area_folder():
    assert TEST_FILES, "no test files found: the glob is wrong"
    misplaced = [str(p.relative_to(TESTS)) for p in TEST_FILES
                 if len(p.relative_to(TESTS).parts) != 2 or p.parent.name not in AREAS]
    assert not misplaced, f"put these in one of {sorted(AREAS)}: {misplaced}"


def test_test_file_names_are_unique_and_no_folder_is_a_package():
    seen: dict[str, Path] = {}
    for path in TEST_FILES:
        assert path.name not in seen, f"{path} and {seen[path.name]} share a name"
        seen[path.name] = path
    packages = [str(p.relative_to(TESTS)) for p in TESTS.rglob("__init__.py") if "node_modules" not in p.parts]
    assert not packages, packages


def test_test_files_share_through_conftest_only():
    """A test file may import the conftest files (for constants such as NOW), never another
    test file or the helpers behind the fixtures."""
    wrong = {}
    for path in TEST_FILES:
        for name in _imported(path):
            parts = name.split(".")
            if parts[0] == "tests" and len(parts) > 1 and "conftest" not in parts:
                wrong.setdefault(str(path.relative_to(TESTS)), []).append(name)
            elif parts[0].startswith("test_"):
                wrong.setdefault(str(path.relative_to(TESTS)), []).append(name)
    assert not wrong, wrong
