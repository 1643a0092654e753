"""No module reaches into another module's underscore names: what a module keeps private may
change without telling anyone. Django's `Model._meta` is public API despite its name."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tandem.core.paths import PROJECT_ROOT

OURS = ("tandem", "config", "bench", "tests")
PUBLIC_DESPITE_THE_UNDERSCORE = {"_meta"}
# Owned by the Bulk API work in progress: its tests call the row converter directly.
KNOWN: set[tuple[str, str]] = set()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def private_uses(source: str, here: str) -> Iterator[str]:
    """`from x import _y` and `x._y` in `source`, for every module x of ours but `here`."""
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] not in OURS or node.module == here:
                continue
            for alias in node.names:
                if _private(alias.name):
                    yield f"{node.module}.{alias.name}"
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            imported.update(a.asname or a.name for a in node.names if a.name.split(".")[0] in OURS)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
            and _private(node.attr)
            and node.attr not in PUBLIC_DESPITE_THE_UNDERSCORE
        ):
            yield f"{node.value.id}.{node.attr}"


def _our_files() -> Iterator[Path]:
    for top in OURS:
        yield from (p for p in (PROJECT_ROOT / top).rglob("*.py") if "node_modules" not in p.parts)


def test_no_module_uses_another_modules_private_names() -> None:
    found = set()
    for path in _our_files():
        uses = private_uses(path.read_text(encoding="utf-8"), _module_name(path))
        found.update((str(path.relative_to(PROJECT_ROOT)), use) for use in uses)

    assert found - KNOWN == set()


def test_the_check_sees_both_spellings_and_spares_the_module_itself() -> None:
    source = "from tandem.cli.tls import _x\nimport tandem.cli.tls as t\nt._y\nt.ok\nM._meta\n"

    assert sorted(private_uses(source, "tandem.cli.other")) == ["t._y", "tandem.cli.tls._x"]
    assert list(private_uses("from tandem.cli.tls import _x\n", "tandem.cli.tls")) == []
