"""Benchmark `kms import` and `kms reindex` end to end on the real handbook corpus, scaled.

Reads shared/corpus/handbook/sourcegraph-handbook.jsonl (never copied into the repository), writes it as a
content folder (articles/<slug>.md with front matter, one process each, categories.yml), scaled as
shared/corpus/README.md describes: copy 0 is the real handbook, copies 1..k-1 get a team/region suffix on
the title, their paragraphs rotated and ~3% of words swapped for words of the handbook's own word stream.
Then, for each scale, in a fresh instance (SQLite by default): `kms init`, `kms import DIR`, `kms reindex`,
each as its own process, timed with its peak memory (maximum resident set size).

    .venv/bin/python benchmarks/import_bench.py --scales 1,10,50
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# shared/ sits beside the repository (or beside the folder of worktrees that holds it).
CORPUS_NAME = Path("shared") / "corpus" / "handbook" / "sourcegraph-handbook.jsonl"
DEFAULT_CORPUS = next(
    (folder / CORPUS_NAME for folder in REPO.parents if (folder / CORPUS_NAME).exists()),
    REPO.parent / CORPUS_NAME,
)
TEAMS = ["Atlas", "Borealis", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Indigo", "Juniper"]
REGIONS = ["EMEA", "APAC", "Americas", "LATAM", "Nordics", "DACH", "ANZ", "India", "Japan", "UK&I"]


def load_pages(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def scaled_pages(pages: list[dict], scale: int, seed: int = 20261206):
    """Yield (copy, page) for copy 0 (the real pages) and the synthetic copies 1..scale-1."""
    rng = random.Random(seed)
    stream = [word for page in pages for word in page["body"].split()]
    for copy in range(scale):
        for page in pages:
            if not copy:
                yield copy, page
                continue
            paragraphs = page["body"].split("\n\n")
            shift = copy % len(paragraphs)
            tokens = "\n\n".join(paragraphs[shift:] + paragraphs[:shift]).split(" ")
            for index in rng.sample(range(len(tokens)), max(1, len(tokens) * 3 // 100)):
                tokens[index] = rng.choice(stream)
            team, region = TEAMS[copy % len(TEAMS)], REGIONS[(copy // len(TEAMS)) % len(REGIONS)]
            yield (
                copy,
                {
                    "path": page["path"],
                    "title": f"{page['title']} ({team} {region} {copy})",
                    "body": " ".join(tokens),
                },
            )


def _slug(path: str, copy: int) -> str:
    words = re.findall(r"[a-z0-9]+", path.removesuffix(".md").lower())
    base = "-".join(words)[:90].strip("-") or "page"
    return f"{base}-c{copy}" if copy else base


def _category(path: str) -> str:
    parts = path.split("/")
    name = parts[1] if parts[0] == "departments" and len(parts) > 2 else parts[0].removesuffix(".md")
    return name.replace("-", " ").capitalize()[:80]


def write_content(pages: list[dict], scale: int, root: Path) -> int:
    """Write the scaled corpus as a content folder; returns the number of article files."""
    articles = root / "articles"
    articles.mkdir(parents=True)
    categories, slugs, names, count = set(), set(), set(), 0
    for copy, page in scaled_pages(pages, scale):
        slug = _slug(page["path"], copy)
        while slug in slugs:
            slug += "-x"
        title = " ".join(page["title"].split())[:190] or slug
        name = title
        while name.casefold() in names:
            name += " (2)"
        slugs.add(slug)
        names.add(name.casefold())
        category = _category(page["path"])
        categories.add(category)
        meta = {
            "title": title,
            "slug": slug,
            "category": category,
            "tags": page["path"].split("/")[:2],
            "language": "en",
            "status": "published",
            "process": {"name": name, "frequency": 1 + count % 50},
        }
        text = "---\n" + json.dumps(meta, ensure_ascii=False) + "\n---\n" + page["body"]
        (articles / f"{slug}.md").write_text(text, encoding="utf-8")
        count += 1
    (root / "categories.yml").write_text(
        json.dumps([{"name": c} for c in sorted(categories)]) + "\n", encoding="utf-8"
    )
    return count


def run(argv: list[str], env: dict) -> tuple[float, float, str]:
    """Run a command; (seconds, peak resident MB, its output). Fails loudly when the command fails."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{output}")
    return seconds, usage.ru_maxrss / 1024, output


def bench_scale(pages: list[dict], scale: int, work: Path, database_url: str) -> dict:
    folder, instance = work / f"content-x{scale}", work / f"instance-x{scale}"
    count = write_content(pages, scale, folder)
    env = {
        **os.environ,
        "KMS_INSTANCE_PATH": str(instance),
        "KMS_LOAD_STARTER_CONTENT": "0",
        "KMS_DATABASE_URL": database_url,
        "PYTHONPATH": str(REPO),
    }
    kms = [sys.executable, "-m", "kms"]
    run([*kms, "init"], env)
    import_s, import_mb, import_out = run([*kms, "import", str(folder)], env)
    reindex_s, reindex_mb, reindex_out = run([*kms, "reindex"], env)
    return {
        "scale": scale,
        "pages": count,
        "import_s": import_s,
        "import_mb": import_mb,
        "reindex_s": reindex_s,
        "reindex_mb": reindex_mb,
        "import_out": import_out.strip().splitlines()[-1:],
        "reindex_out": reindex_out.strip().splitlines()[-1:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales", default="1,10", help="comma-separated copies of the corpus (default 1,10)"
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--database-url", default="", help="an EMPTY database to use (default: a fresh SQLite file per scale)"
    )
    args = parser.parse_args(argv)
    pages = load_pages(args.corpus)
    work = Path(tempfile.mkdtemp(prefix="kms-import-bench-"))
    print(f"corpus: {len(pages)} pages from {args.corpus}; cores: {os.cpu_count()}")
    print(
        f"{'scale':>5} {'pages':>7} {'import s':>9} {'pages/s':>8} {'peak MB':>8} {'reindex s':>10} "
        f"{'docs/s':>7} {'peak MB':>8}"
    )
    try:
        for scale in (int(s) for s in args.scales.split(",")):
            row = bench_scale(pages, scale, work, args.database_url)
            docs = re.search(r"Indexed (\d+)", " ".join(row["reindex_out"]))
            docs = int(docs.group(1)) if docs else row["pages"]
            print(
                f"{'x' + str(scale):>5} {row['pages']:>7} {row['import_s']:>9.1f} "
                f"{row['pages'] / row['import_s']:>8.0f} {row['import_mb']:>8.0f} {row['reindex_s']:>10.1f} "
                f"{docs / row['reindex_s']:>7.0f} {row['reindex_mb']:>8.0f}",
                flush=True,
            )
            print(
                f"      import: {' '.join(row['import_out'])[:150]}\n      reindex: {' '.join(row['reindex_out'])}",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
