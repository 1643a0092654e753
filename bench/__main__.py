"""Run the registered benchmarks (all, or those named) and rewrite their sections of RESULTS.md.

python -m bench            # every benchmark
python -m bench sends      # one
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
# name -> module with a `run() -> str` returning that benchmark's Markdown section.
BENCHMARKS = {
    "sends": "bench.sends",
    "oauth": "bench.oauth",
    "api": "bench.api",
    "imports": "bench.imports",
    "migration": "bench.migration",
    "sync": "bench.sync",
    "bulk": "bench.bulk",
}


def _replace_section(text: str, name: str, section: str) -> str:
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{section.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip() + "\n\n" + block + "\n"


def main(names: list[str]) -> int:
    """Run each benchmark and keep RESULTS.md's other sections as they are."""
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    for name in names or list(BENCHMARKS):
        print(f"running bench/{name} …", flush=True)
        section = importlib.import_module(BENCHMARKS[name]).run()
        print(section, flush=True)
        # Read again: a benchmark may write sections of its own (imports does, per database).
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        RESULTS.write_text(_replace_section(text, name, section))
    return 0


sys.exit(main(sys.argv[1:]))
