"""Where Tandem keeps its files."""

from __future__ import annotations

from pathlib import Path

from tandem.core.env import env_str

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def var_dir() -> Path:
    """The directory for databases, mail, uploads and generated secrets (TANDEM_VAR_DIR)."""
    return Path(env_str("TANDEM_VAR_DIR", str(PROJECT_ROOT / "var"))).resolve()
