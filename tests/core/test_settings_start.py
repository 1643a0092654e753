"""A bad TANDEM_* value stops the process at start with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _tandem(
    *args: str, env_extra: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TANDEM_VAR_DIR": str(tmp_path), **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "tandem", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_debug_value_fails_naming_the_variable(tmp_path: Path) -> None:
    result = _tandem("crm", "check", env_extra={"TANDEM_DEBUG": "maybe"}, tmp_path=tmp_path)

    assert result.returncode == 2
    assert "TANDEM_DEBUG='maybe' is not valid" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_service_is_refused(tmp_path: Path) -> None:
    result = _tandem(
        "crm", "check", env_extra={"TANDEM_CRM_DATABASE_URL": "mysql://x/y"}, tmp_path=tmp_path
    )

    assert result.returncode == 2
    assert "TANDEM_CRM_DATABASE_URL" in result.stderr


def test_good_settings_pass_the_system_check(tmp_path: Path) -> None:
    result = _tandem("engagement", "check", env_extra={}, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
