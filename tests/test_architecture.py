"""Rules of the layout, checked from the source (see docs/architecture.md).

- `core` has no import cycles (every import statement counts, also those inside functions).
- An import inside a function is only for a heavy library (TensorFlow, Keras, ObsPy, SciPy,
  scikit-learn), or a module of ours that imports one at its top, so that pages which do not
  need TensorFlow stay fast. Every other import sits at the top of its module.
- `core` never imports Streamlit; pages and dashboard modules are the only UI.
- No source file is much over 400 lines.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = {"tensorflow", "keras", "obspy", "scipy", "sklearn", "tensorboard", "onnx", "onnxruntime"}
MAX_LINES = 410
LAZY_ON_PURPOSE: dict[str, str] = {}  # file -> why its function-level imports are allowed


def module_files(*folders: str) -> dict[str, Path]:
    files = {}
    for folder in folders:
        for path in (REPO / folder).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


MODULES = module_files("core", "dashboard")


def imported_names(node: ast.AST) -> list[str]:
    """Modules an import statement names (for `from a import b`, also `a.b`)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return []


@cache
def top_level_imports(module: str) -> tuple[str, ...]:
    tree = ast.parse(MODULES[module].read_text())
    return tuple(n for node in tree.body for n in imported_names(node))


@cache
def imports_heavy(module: str) -> bool:
    if module.split(".")[0] in HEAVY:
        return True
    if module not in MODULES:
        return False
    return any(imports_heavy(m) for m in top_level_imports(module) if m != module)


def test_core_has_no_import_cycles():
    core = {m: p for m, p in MODULES.items() if m.split(".")[0] == "core"}
    graph = {m: set() for m in core}
    for module, path in core.items():
        for node in ast.walk(ast.parse(path.read_text())):
            graph[module] |= {n for n in imported_names(node) if n in core and n != module}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_imports_inside_functions_are_only_for_heavy_libraries():
    offenders = []
    for path in [*MODULES.values(), *(REPO / "pages").glob("*.py")]:
        rel = path.relative_to(REPO).as_posix()
        if rel in LAZY_ON_PURPOSE:
            continue
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                names = imported_names(node)
                if names and not any(imports_heavy(n) for n in names):
                    offenders.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert not offenders, "move these imports to the top:\n" + "\n".join(offenders)


def test_core_never_imports_streamlit():
    users = [
        f"{m}: {n}"
        for m, p in MODULES.items()
        if m.startswith("core")
        for node in ast.walk(ast.parse(p.read_text()))
        for n in imported_names(node)
        if n.split(".")[0] == "streamlit"
    ]
    assert not users


def test_no_file_is_much_over_400_lines():
    long = [
        f"{p.relative_to(REPO)}: {n}"
        for folder in ("core", "dashboard", "pages", "tests")
        for p in (REPO / folder).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, long
