"""The import contract of the queue's side of the code, read from the source (AST), so that a
violation fails here rather than in review:

- no import cycles anywhere in ``ingestd`` (module-level imports);
- ``domain`` imports nothing of ours but ``domain``; ``store`` nothing above it;
- ``pipeline`` does not import the queue, the worker or the sources; ``queue`` not the sources,
  the worker or the pipeline; ``worker_process`` not ``runtime``;
- the worker, the queue, the sources and the stages never build SQL: they do not even import
  SQLAlchemy (the store does that for them);
- imports inside functions only where they keep an optional extra optional or a process light.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import ingestd

PACKAGE = Path(ingestd.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _top_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            yield from _top_level(node.body)


def _names(node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    assert node.level == 0, "relative imports are not used"
    module = node.module or ""
    # ``from package import submodule`` depends on the submodule, not on the package's __init__
    names = {f"{module}.{alias.name}" for alias in node.names}
    return names if names <= MODULES.keys() else {module} | names


def imports_of(name: str) -> set[str]:
    """The modules (ours and others') that ``name`` imports at module level."""
    tree = ast.parse(MODULES[name].read_text())
    return set().union(*(_names(node) for node in _top_level(tree.body)))


def ours(name: str) -> set[str]:
    return {m for m in imports_of(name) if m in MODULES and m != name}


def _in(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_no_import_cycles() -> None:
    graph = {name: ours(name) for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for other in graph[name]:
            visit(other, [*path, name])
        done.add(name)

    for name in graph:
        visit(name, [])


RULES = {
    "ingestd.domain": ("ingestd.",),  # except domain itself (below)
    "ingestd.store": (
        "ingestd.queue",
        "ingestd.worker",
        "ingestd.sources",
        "ingestd.pipeline",
        "ingestd.api",
        "ingestd.services",
        "ingestd.events",
        "ingestd.webhooks",
        "ingestd.runtime",
    ),
    "ingestd.pipeline": ("ingestd.queue", "ingestd.worker", "ingestd.sources", "ingestd.store"),
    "ingestd.queue": ("ingestd.sources", "ingestd.worker", "ingestd.pipeline"),
    "ingestd.worker_process": ("ingestd.runtime",),
}


def test_imports_point_inward() -> None:
    wrong = []
    for name in MODULES:
        for package, forbidden in RULES.items():
            if not _in(name, package):
                continue
            for target in ours(name):
                if _in(target, *forbidden) and not _in(target, package):
                    wrong.append(f"{name} imports {target}")
    assert wrong == []


NO_SQL = ("ingestd.queue", "ingestd.worker", "ingestd.sources", "ingestd.worker_process")
NO_SQL_MODULES = ("ingestd.pipeline.stages", "ingestd.pipeline.pool")


def test_the_worker_side_builds_no_sql() -> None:
    offenders = [
        name
        for name in MODULES
        if _in(name, *NO_SQL) or name in NO_SQL_MODULES
        if any(_in(m, "sqlalchemy", "asyncpg") for m in imports_of(name))
    ]
    assert offenders == []


# (module, what it imports inside a function): each keeps an optional extra optional, or keeps
# heavy modules out of a process that never uses them (the comment at each one says which).
LAZY = {
    ("ingestd.queue.notify", "asyncpg"),
    ("ingestd.sources.s3", "botocore.exceptions"),
    ("ingestd.pipeline.stages", "ingestd.pipeline.embed"),
}


def test_imports_inside_functions_are_the_known_few() -> None:
    lazy = set()
    for name, path in MODULES.items():
        if not (_in(name, *NO_SQL, "ingestd.domain") or name in NO_SQL_MODULES):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        module = inner.module if isinstance(inner, ast.ImportFrom) else None
                        lazy |= {(name, module or alias.name) for alias in inner.names}
    assert lazy == LAZY
