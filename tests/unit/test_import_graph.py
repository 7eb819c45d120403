"""The layering of ``ge/`` (``docs/ARCHITECTURE.md``), read from the source with ``ast``.

Every ``import`` statement of every module counts: at module level, inside a
function, or under ``if TYPE_CHECKING:`` (a type-only import). The rules:

* no cycle among the imports that run (all but the type-only ones);
* a type-only import stays inside its own subpackage of ``ge`` (``ge.es``'s
  builder and its holders name each other's types; nothing else needs one);
* ``ge._ffi`` (ctypes, status codes, the loader, the exceptions) imports nothing
  of the package outside itself;
* the private modules of native objects and process state import only
  ``ge._ffi`` and each other (and the allocator interface ``ge.allocator.allocator``,
  pure Python, whose ``MemBlock`` the trampolines check).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import ge

PACKAGE = Path(ge.__file__).resolve().parent

STATE_LAYER = {
    "ge._native",
    "ge._lifecycle",
    "ge._callback_errors",
    "ge._checks",
    "ge._messages",
    "ge._session_manager",
    "ge._acl_state",
    "ge._allocator_bridge",
    "ge._allocator_registry",
}
"""Native objects and process state: above ``ge._ffi``, below the public modules."""
STATE_LAYER_MAY_IMPORT = {"ge.allocator.allocator"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(module: str, node: ast.stmt) -> Iterator[str]:
    """The modules of ``ge`` an import statement names (a name imported from a
    package is its submodule when there is one)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == "ge" or alias.name.startswith("ge."):
                yield alias.name
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        if base == "ge" or base.startswith("ge."):
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield sub if sub in MODULES else base


def _imports(module: str) -> Iterator[tuple[str, bool]]:
    """``(imported module, type-only)`` for every import statement of ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))

    def walk(node: ast.AST, type_only: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.body:
                    yield from walk_stmt(stmt, True)
                for stmt in child.orelse:
                    yield from walk_stmt(stmt, type_only)
            else:
                yield from walk_stmt(child, type_only)

    def walk_stmt(node: ast.AST, type_only: bool) -> Iterator[tuple[str, bool]]:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in _targets(module, node):
                yield target, type_only
        else:
            yield from walk(node, type_only)

    yield from walk(tree, False)


GRAPH = {module: sorted(set(_imports(module))) for module in MODULES}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _unit(module: str) -> str:
    """The top-level package (``ge.es``) or module (``ge._session_manager``) of ``module``."""
    return ".".join(module.split(".")[:2])


def test_every_module_is_read() -> None:
    assert {"ge", "ge._ffi", "ge.acl", "ge.session.session", "ge.es.tensor_holder"} <= set(GRAPH)
    assert all(target.startswith("ge") for edges in GRAPH.values() for target, _ in edges)
    unknown = {t for edges in GRAPH.values() for t, _ in edges if t not in MODULES}
    assert not unknown, f"imports of modules that do not exist: {unknown}"


def test_the_imports_that_run_have_no_cycle() -> None:
    runtime = {m: {t for t, type_only in edges if not type_only} for m, edges in GRAPH.items()}
    assert _cycles(runtime) == []


def test_type_only_imports_stay_inside_their_package() -> None:
    crossing = [
        (module, target)
        for module, edges in GRAPH.items()
        for target, type_only in edges
        if type_only and (_unit(target) != _unit(module) or _unit(module) == module)
    ]
    assert crossing == []


def test_a_cycle_through_type_only_imports_stays_inside_ge_es() -> None:
    full = {m: {t for t, _ in edges} for m, edges in GRAPH.items()}
    for component in _cycles(full):
        assert all(m.startswith("ge.es.") for m in component), component


def test_ge_ffi_imports_nothing_above_it() -> None:
    upward = [
        (module, target)
        for module, edges in GRAPH.items()
        if module == "ge._ffi" or module.startswith("ge._ffi.")
        for target, _ in edges
        if not (target == "ge._ffi" or target.startswith("ge._ffi."))
    ]
    assert upward == []


@pytest.mark.parametrize("module", sorted(STATE_LAYER))
def test_the_state_layer_imports_only_ffi_and_itself(module: str) -> None:
    allowed = STATE_LAYER | STATE_LAYER_MAY_IMPORT
    upward = [
        target
        for target, _ in GRAPH[module]
        if not (target in allowed or target == "ge._ffi" or target.startswith("ge._ffi."))
    ]
    assert upward == []


def test_the_checker_sees_a_cycle_and_type_only_imports() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert ("ge.es._builder_base", True) in GRAPH["ge.es.tensor_holder"]
    assert ("ge._ffi.errors", False) in GRAPH["ge.error"]
