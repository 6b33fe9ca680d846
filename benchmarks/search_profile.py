"""Profile kms search by query kind: median ms per kind, then cProfile's top lines for the kinds asked.

Builds the scaled handbook index once into --index (reused when it is there), as benchmarks/search_bench.py
builds it, then runs the fixed query set (result cache off).

    .venv/bin/python benchmarks/search_profile.py --scale 10 --index /tmp/kms-x10 --kinds and,phrase
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import search_bench as sb  # noqa: E402 - after the path is set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--index", type=Path, required=True, help="index folder (built when missing)")
    parser.add_argument("--kinds", default="and,phrase", help="query kinds to profile, comma-separated")
    parser.add_argument("--top", type=int, default=20, help="profile lines to print")
    args = parser.parse_args(argv)
    if not (args.index / sb.kms_engine.CURRENT_FILE).exists():
        docs = sb.scaled_corpus(
            sb.load_handbook(sb.DEFAULT_CORPUS), sb.load_multilingual(sb.DEFAULT_MULTILINGUAL), args.scale
        )
        sb.kms_engine.SearchEngine(args.index, cache_size=0).rebuild(docs)
    engine = sb.kms_engine.SearchEngine(args.index, create=False, cache_size=0)
    for _, text in sb.QUERIES:  # warm-up: per-segment caches, as a running worker has them
        engine.search(text, visibilities=sb.VISIBLE)
    by_kind: dict[str, list[float]] = {}
    for _ in range(3):
        for kind, text in sb.QUERIES:
            started = time.perf_counter()
            engine.search(text, visibilities=sb.VISIBLE)
            by_kind.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    print("median ms by kind: " + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in by_kind.items()))
    wanted = set(args.kinds.split(","))
    texts = [text for kind, text in sb.QUERIES if kind in wanted]
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(3):
        for text in texts:
            engine.search(text, visibilities=sb.VISIBLE)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
