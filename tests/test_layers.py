"""Dependencies point one way (DESIGN.md §2): a lower capability never imports a higher one.

counter -> points, goods; duty -> points; campaigns -> duty; points and goods import no capability above
them. org, auth and community are the floor: org (the grid tree and the grid scope) imports no capability,
community only org, auth only community and org (a
volunteer belongs to a household and a team; sponsors, which live in goods, reach auth through
``auth.service.provide_sponsors``). The capabilities that bring the others together (home, reporting,
publicity, reports, volunteers, backup) may import any below them, and nothing below imports them.
"""
import ast
from pathlib import Path

import gridapp

PACKAGE = Path(gridapp.__file__).resolve().parent
FLOOR = {"org", "auth", "community"}
ALLOWED = {
    "org": {"auth"},  # org's pages and forms use auth's decorators and form helpers; its models, scope and service import nothing
    "community": {"org"},
    "auth": {"community", "org"},
    "points": FLOOR,
    "goods": FLOOR,
    "duty": FLOOR | {"points"},
    "counter": FLOOR | {"points", "goods"},
    "campaigns": FLOOR | {"points", "duty"},
}
CAPABILITIES = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}


def imported_capabilities(path: Path) -> set[tuple[str, int]]:
    """(capability, line) for every import of another gridapp capability in ``path``, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name.split(".") for alias in node.names]
            names = [parts[1] for parts in modules if parts[0] == "gridapp" and len(parts) > 1]
        elif isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".") if node.module else []
            if node.level == 0 and module[:1] == ["gridapp"]:
                names = [module[1]] if len(module) > 1 else [alias.name for alias in node.names]
            elif node.level == 2:  # from ..x import y / from .. import x, inside gridapp/<capability>/
                names = [module[0]] if module else [alias.name for alias in node.names]
            else:
                names = []
        else:
            continue
        found |= {(name, node.lineno) for name in names if name in CAPABILITIES}
    return found


def edges() -> list[tuple[str, str, str]]:
    """(importer, imported, "file:line") for every capability that imports another."""
    result = []
    for capability in sorted(CAPABILITIES):
        for path in sorted((PACKAGE / capability).rglob("*.py")):
            for imported, line in sorted(imported_capabilities(path)):
                if imported != capability:
                    result.append((capability, imported, f"{path.relative_to(PACKAGE.parent)}:{line}"))
    return result


def test_lower_capabilities_never_import_higher_ones():
    wrong = [f"{where}: {importer} imports {imported}" for importer, imported, where in edges()
             if importer in ALLOWED and imported not in ALLOWED[importer]]
    assert wrong == []


def test_the_import_walk_sees_the_edges_it_checks():
    seen = {(importer, imported) for importer, imported, _ in edges()}
    assert {("counter", "goods"), ("counter", "points"), ("duty", "points"), ("campaigns", "duty"),
            ("auth", "community"), ("goods", "auth")} <= seen
    assert set(ALLOWED) <= CAPABILITIES
