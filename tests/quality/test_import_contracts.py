"""The import-linter contracts hold, and would catch a CRM → Engagement import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tandem.core.paths import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """A copy of the packages and the contracts, to break without touching the real tree."""
    for package in ("tandem", "config"):
        shutil.copytree(
            PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_contracts_hold_on_the_real_tree(tree_copy: Path) -> None:
    result = _lint_imports(tree_copy)

    assert result.returncode == 0, result.stdout
    assert "CRM and Engagement never import each other KEPT" in result.stdout


def test_a_crm_import_of_engagement_breaks_the_contract(tree_copy: Path) -> None:
    (tree_copy / "tandem" / "crm" / "leak.py").write_text("import tandem.engagement.views\n")

    result = _lint_imports(tree_copy)

    assert result.returncode != 0
    assert "CRM and Engagement never import each other BROKEN" in result.stdout
    assert "tandem.crm.leak -> tandem.engagement.views" in result.stdout


def test_core_importing_a_service_breaks_the_contract(tree_copy: Path) -> None:
    (tree_copy / "tandem" / "core" / "leak.py").write_text("from tandem.crm import views\n")

    result = _lint_imports(tree_copy)

    assert result.returncode != 0
    assert "Core imports neither service BROKEN" in result.stdout


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("tandem/crm/orgs/services.py", "tandem.crm.orgs.views"),
        ("tandem/engagement/data/selectors.py", "tandem.engagement.data.forms"),
        ("tandem/engagement/connect/services/outages.py", "tandem.engagement.connect.tasks"),
        ("tandem/crm/users/models.py", "tandem.crm.users.urls"),
    ],
)
def test_a_service_selector_or_model_importing_an_edge_breaks_the_contract(
    tree_copy: Path, module: str, imported: str
) -> None:
    path = tree_copy / module
    path.write_text(path.read_text() + f"\nimport {imported}  # noqa\n")

    result = _lint_imports(tree_copy)

    assert result.returncode != 0
    assert "never import views, forms, URLconfs or tasks BROKEN" in result.stdout


def test_sends_importing_connect_breaks_the_contract(tree_copy: Path) -> None:
    path = tree_copy / "tandem" / "engagement" / "sends" / "selectors.py"
    path.write_text(path.read_text() + "\nimport tandem.engagement.connect.selectors  # noqa\n")

    result = _lint_imports(tree_copy)

    assert result.returncode != 0
    assert "Connect depends on sends, never the other way BROKEN" in result.stdout
