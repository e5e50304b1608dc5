"""The house rules of docs/architecture.md, checked on the source: rooms stay small, the server takes only the
wire contract and two helpers from the receiver, and no module-level import goes round in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGES = ("broadcaster", "edge_agent")
EXEMPT = ("broadcaster/migrations/", "broadcaster/web/translations/")
"""Generated code and translations: long by nature."""
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300
MAX_TOP_MODULES = 8
SERVER_MAY_USE = ("edge_agent.protocol", "edge_agent.link", "edge_agent.settings")
"""What the server imports from the receiver: the wire contract, the MQTT link and reading settings files."""


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
                  if not any(str(p.relative_to(ROOT)).startswith(e) for e in EXEMPT))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(tree: ast.Module, top_level_only: bool) -> set[str]:
    """The modules ``tree`` imports, with ``from a import b`` counted as ``a`` and ``a.b`` (b may be a module);
    ``top_level_only``: those imported when the module itself is (not inside functions or ``if TYPE_CHECKING``)."""
    found: set[str] = set()
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_module_is_over_the_limit() -> None:
    long = {str(p.relative_to(ROOT)): n for p in sources()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_class_is_over_the_limit() -> None:
    long = {}
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = size
    assert not long, f"classes over {MAX_CLASS_LINES} lines: {long}"


def test_the_server_top_level_holds_only_what_everything_shares() -> None:
    top = sorted(p.name for p in (ROOT / "broadcaster").glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_MODULES, f"{len(top)} modules directly in broadcaster/: {top}"


def test_the_server_takes_only_the_wire_contract_the_link_and_settings_from_the_receiver() -> None:
    strays = {}
    for path in (ROOT / "broadcaster").rglob("*.py"):
        used = {m for m in imports(ast.parse(path.read_text(encoding="utf-8")), top_level_only=False)
                if m == "edge_agent" or m.startswith("edge_agent.")}
        bad = {m for m in used if not any(m == allowed or m.startswith(allowed + ".") for allowed in SERVER_MAY_USE)}
        if bad:
            strays[str(path.relative_to(ROOT))] = sorted(bad)
    assert not strays, f"server modules importing receiver code beyond {SERVER_MAY_USE}: {strays}"


def test_the_receiver_never_imports_the_server() -> None:
    strays = [str(p.relative_to(ROOT)) for p in (ROOT / "edge_agent").rglob("*.py")
              if any(m.split(".")[0] == "broadcaster"
                     for m in imports(ast.parse(p.read_text(encoding="utf-8")), top_level_only=False))]
    assert not strays


def graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports when it is first imported (module level)."""
    modules = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges[name] = {m for m in imports(ast.parse(path.read_text(encoding="utf-8")), top_level_only=True)
                       if m in modules and m != name}
    return edges


def test_no_import_cycle_at_run_time() -> None:
    edges = graph()
    # A package's __init__ importing its own submodules is how packages re-export: not a cycle to forbid.
    for name in edges:
        edges[name] = {m for m in edges[name] if not m.startswith(name + ".")}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("limit", [MAX_MODULE_LINES, MAX_CLASS_LINES])
def test_the_limits_match_the_architecture_document(limit: int) -> None:
    assert f"{limit} lines" in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
