"""Run every benchmark that exists and write bench/RESULTS.md."""

from __future__ import annotations

import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def main() -> int:
    """Run each benchmark that exists; each writes its own section of RESULTS.md."""
    from bench import oauth

    return oauth.main()


sys.exit(main())
