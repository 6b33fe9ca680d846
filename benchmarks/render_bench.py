"""CPU seconds kms.markdown needs to render the real handbook corpus (the import's biggest cost), in one process.

    .venv/bin/python benchmarks/render_bench.py [--passes 2] [--corpus shared/corpus/handbook/...jsonl]

Process CPU time, not wall-clock, so that other work on the machine moves the figure little; the first page is
rendered once beforehand (building the converter is not counted).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.import_bench import DEFAULT_CORPUS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args(argv)
    from kms import markdown

    with args.corpus.open(encoding="utf-8") as lines:
        bodies = [json.loads(line).get("body") or "" for line in lines if line.strip()]
    markdown.render_with_toc(bodies[0], time_limit=False)
    best = None
    for _ in range(args.passes):
        started = time.process_time()
        for body in bodies:
            markdown.render_with_toc(body, time_limit=False)
        seconds = time.process_time() - started
        best = seconds if best is None else min(best, seconds)
    size = sum(len(body) for body in bodies) / 1e6
    print(f"{len(bodies)} pages, {size:.1f} MB of Markdown: best of {args.passes} passes {best:.2f} CPU s")
    print(f"{len(bodies) / best:.0f} pages per CPU second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
