"""Every module and file the docs, comments and templates name exists, and every rule the
code cites is defined in docs/rules.md.

Read from the files themselves: the README, docs/*.md, bench/*.md, the Makefile, the
requirements and the example configuration whole; the comments and docstrings of every
Python file under tracker/, jobs/ and tests/; every template and email. A dotted name
(`tracker.records.fields`, `jobs.delivery.FittingMessage`) must import, and what
follows the module must be one of its attributes; a path (`tracker/web/once.py`,
`templates/agreements/_stale.html`, `tests/records/`) must be a file or folder of the
repository. Nothing is listed by hand, so a module that moves fails here until every
mention follows it.
"""

from __future__ import annotations

import ast
import functools
import importlib
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Read whole: the README, the docs and the files a newcomer reads beside them.
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "bench").glob("*.md")),
        ROOT / "Makefile", *sorted(ROOT.glob("requirements*.txt")), ROOT / "config.example.env", ROOT / ".ci" / "run"]
# Read for their comments and docstrings (Python) or whole (templates and emails).
CODE = [p for folder in ("tracker", "jobs", "templates", "tests") for p in sorted((ROOT / folder).rglob("*"))
        if p.suffix in {".py", ".html", ".txt"} and p.is_file() and "node_modules" not in p.parts]

# `tracker/web/once.py`, `templates/agreements/_stale.html`, `tests/records/`: a path inside the repository.
# Not after a letter, a dot, a slash or a dash, so /srv/agreement-tracker/... and
# http://tracker.test are not read as ours.
PATH = re.compile(r"(?<![\w./@-])((?:tracker|jobs|templates|tests|bench|static|frontend|docs)(?:/[\w.-]*\w)+/?)")
# `tracker.records.fields`, `jobs.delivery.FittingMessage`: a module and its attributes.
DOTTED = re.compile(r"(?<![\w./@-])((?:tracker|jobs)(?:\.[A-Za-z_]\w*)+)")
FILE_ENDINGS = {"md", "py", "html", "txt", "json", "db", "log", "service", "timer", "env", "css", "js", "scss"}
RULE = re.compile(r"\bR\d{1,2}a?\b")


@functools.cache
def _prose(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of what a reader reads: a Python file's comments and docstrings, any other file whole."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return list(enumerate(text.splitlines(), 1))
    lines = [(token.start[0], token.string) for token in tokenize.generate_tokens(io.StringIO(text).readline)
             if token.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                lines += [(first.lineno + i, line) for i, line in enumerate(first.value.value.splitlines())]
    return lines


def _mentions(pattern: re.Pattern, files: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in files:
        for number, line in _prose(path):
            for match in pattern.finditer(line):
                found.setdefault(match.group(1) if pattern.groups else match.group(0), []).append(
                    f"{path.relative_to(ROOT)}:{number}")
    return found


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    if parts[-1] in FILE_ENDINGS:  # `jobs.md`, `tracker.db`: a file's name, read as a path elsewhere
        return True
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


def test_every_path_the_docs_comments_and_templates_name_exists():
    missing = {path: where for path, where in _mentions(PATH, DOCS + CODE).items()
               if not (ROOT / path.rstrip("/.")).exists()}
    assert not missing, "\n".join(f"{path}: named at {', '.join(where)}" for path, where in sorted(missing.items()))


def test_every_module_the_docs_comments_and_templates_name_imports():
    missing = {name: where for name, where in _mentions(DOTTED, DOCS + CODE).items() if not _resolves(name)}
    assert not missing, "\n".join(f"{name}: named at {', '.join(where)}" for name, where in sorted(missing.items()))


def test_every_rule_the_code_cites_is_defined_in_docs_rules_md():
    defined = set(re.findall(r"^\*\*(R\d{1,2}a?):", (ROOT / "docs" / "rules.md").read_text(encoding="utf-8"), re.M))
    cited = _mentions(RULE, CODE)
    assert cited, "the code cites no rule: the pattern is wrong"
    undefined = {rule: where for rule, where in cited.items() if rule not in defined}
    assert not undefined, "\n".join(f"{rule}: cited at {', '.join(where[:5])}" for rule, where in sorted(undefined.items()))


@pytest.mark.parametrize("text, pattern, expected", [
    ("see `tracker/web/once.py` and tracker.records.fields.", PATH, ["tracker/web/once.py"]),
    ("see `tracker/web/once.py` and tracker.records.fields.", DOTTED, ["tracker.records.fields"]),
    ("ExecStart=/srv/agreement-tracker/.venv/bin/flask and http://tracker.test/", PATH, []),
    ("ExecStart=/srv/agreement-tracker/.venv/bin/flask and http://tracker.test/", DOTTED, []),
    ("PRODID:-//Agreement tracker//Review meetings//EN", PATH, []),
    ("the folders (tests/records/, templates/email/x.subject.txt).", PATH, ["tests/records/", "templates/email/x.subject.txt"]),
])
def test_the_patterns_find_our_names_and_only_ours(text, pattern, expected):
    assert [m.group(1) for m in pattern.finditer(text)] == expected


def test_a_stale_name_is_caught():
    assert not _resolves("tracker.warnings.Sign") and not _resolves("tracker.mailings")
    assert _resolves("tracker.records.warnings") and _resolves("jobs.delivery.FittingMessage")
    assert not (ROOT / "tracker/assets.py").exists()
