"""The layers hold: apps import downward only, the kernel in govern/ imports no app, and no module imports itself
back through others. Imports inside functions count as much as those at the top: hiding one is how a circle grows.

The order, lowest first (docs/architecture.md has the map): the kernel (the govern/ modules any app imports, such as
the policy, the restricted queryset, roles, upload validation and image encryption), then audit, outbox, accounts,
watchlists, deployments, matching, then disclosures and public, which do not import each other, and oversight above
them (its retention sweep reaches Sarah's Law cases), and last rights. The
project's own shell (govern/urls.py, settings, admin, middleware, celery) sits above every app and may import any of
them.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [
    {"audit"},
    {"outbox"},
    {"accounts"},
    {"watchlists"},
    {"deployments"},
    {"matching"},
    {"disclosures", "public"},
    {"oversight"},  # retention reaches every class of data, Sarah's Law cases included
    {"rights"},  # the requests desk reads the access review (oversight) for its response pack
]
RANK = {app: rank for rank, layer in enumerate(LAYERS) for app in layer}


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module `path` imports, anywhere in it, with the line; `from m import n` counts m and m.n."""
    name = _name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.append((module, node.lineno))
            found += [(f"{module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _modules() -> dict[str, Path]:
    paths = [*ROOT.glob("apps/**/*.py"), *ROOT.glob("govern/**/*.py")]
    return {_name(path): path for path in paths if "migrations" not in path.parts}


MODULES = _modules()
GRAPH = {
    name: {(target, line) for target, line in _imports(path) if target in MODULES} for name, path in MODULES.items()
}


def _app(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "apps" and len(parts) > 1 else None


def _kernel() -> set[str]:
    """The govern/ modules an app imports, and the govern/ modules those import in turn."""
    kernel = {target for name, edges in GRAPH.items() if _app(name) for target, _ in edges if not _app(target)}
    frontier = set(kernel)
    while frontier:
        found = {target for name in frontier for target, _ in GRAPH[name] if not _app(target)} - kernel
        kernel |= found
        frontier = found
    return kernel - {"govern"}


def test_every_app_has_its_place_in_the_layers():
    apps = {path.name for path in (ROOT / "apps").iterdir() if (path / "apps.py").exists()}
    assert apps == set(RANK), "add a new app to LAYERS (and to the map in docs/architecture.md)"


def test_apps_import_only_apps_below_them():
    upward = [
        f"{name}:{line} imports {target}"
        for name, edges in GRAPH.items()
        for target, line in edges
        if _app(name) and _app(target) and _app(target) != _app(name) and RANK[_app(target)] >= RANK[_app(name)]
    ]
    assert not upward, "\n".join(sorted(upward))


def test_the_kernel_imports_no_app():
    kernel = _kernel()
    assert {"govern.policy", "govern.restricted", "govern.roles", "govern.uploads", "govern.encryption"} <= kernel
    reaching_up = [f"{name}:{line} imports {target}" for name in kernel for target, line in GRAPH[name] if _app(target)]
    assert not reaching_up, "\n".join(sorted(reaching_up))


def test_no_module_imports_itself_back_through_others():
    """Tarjan's strongly connected components over every import, at the top or inside a function."""
    order, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(name):
        order[name] = low[name] = len(order)
        stack.append(name)
        on_stack.add(name)
        for target, _ in GRAPH[name]:
            if target not in order:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], order[target])
        if low[name] == order[name]:
            component = []
            while not component or component[-1] != name:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                circles.append(sorted(component))

    for name in GRAPH:
        if name not in order:
            visit(name)
    assert not circles, circles
