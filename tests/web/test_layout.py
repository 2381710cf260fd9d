"""The layout shows the architecture: imports go one way (README, "How it is built").

Read from the code itself with `ast`, imports inside functions included, so a
lazy import cannot hide a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE = {"tracker.config", "tracker.db", "tracker.models", "tracker.clock", "tracker.rules", "tracker.settings",
        "tracker.audit", "tracker.ids", "tracker.prepared"}
DOMAIN = ("tracker.records.drafting", "tracker.agencies", "tracker.notices", "tracker.people", "tracker.oversight",
          "tracker.governance")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def graph() -> dict[str, set[str]]:
    files = [p for d in ("tracker", "jobs") for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts]
    names = {module_name(p) for p in files}
    edges: dict[str, set[str]] = {}
    for path in files:
        here = module_name(path)
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    found.add(target if target in names else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        edges[here] = {t for t in found if t in names and t != here and t != "tracker"}
    return edges


def within(module: str, packages) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_no_two_modules_import_each_other_even_round_a_circle():
    edges = graph()
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert circles == []


def test_the_base_imports_nothing_above_it():
    edges = graph()
    upward = {m: sorted(t for t in targets if t not in BASE) for m, targets in edges.items() if m in BASE}
    assert {m: t for m, t in upward.items() if t} == {}


def test_the_domain_never_imports_the_web_layer_or_the_job_runner():
    edges = graph()
    wrong = {m: sorted(t for t in targets if within(t, ("tracker.web", "jobs")))
             for m, targets in edges.items() if within(m, DOMAIN)}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_records_are_called_by_notices_agencies_and_people_never_the_reverse():
    edges = graph()
    wrong = {m: sorted(t for t in targets if within(t, ("tracker.records.drafting",)))
             for m, targets in edges.items() if within(m, ("tracker.notices", "tracker.agencies", "tracker.people"))}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_one_europe_london():
    zones = [str(p.relative_to(ROOT)) for d in ("tracker", "jobs", "bench") for p in (ROOT / d).rglob("*.py")
             if 'ZoneInfo("Europe/London")' in p.read_text()]
    assert zones == ["tracker/clock.py"]
