"""Benchmark kms search (kms.search.engine) beside a plain SQLite FTS5 table, in the same run.

Reads the real handbook corpus (and the multilingual articles), scales it synthetically as
shared/corpus/README.md describes, and prints for each scale: full build docs/s, query latency
p50/p95 with highlighted snippets, index size, single-document update latency and the time until
the update is visible to another searcher. Targets are checked and printed as PASS/FAIL, and the
figures are written to docs/benchmarks.md under "## Search".

    .venv/bin/python benchmarks/search_bench.py --scales 1,10,50 --queries 300
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _import_search_modules():
    """Import kms.search.engine and .schema without running kms/__init__.py: the benchmark measures
    the engine alone and must not need the Flask app (or its half-finished features) to import."""
    import importlib
    import types

    for name, path in (("kms", REPO / "kms"), ("kms.search", REPO / "kms" / "search")):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(path)]
            sys.modules[name] = package
    return importlib.import_module("kms.search.engine"), importlib.import_module("kms.search.schema")


kms_engine, kms_schema = _import_search_modules()
strip_markdown = kms_schema.strip_markdown

# The shared corpus sits beside the repository (or beside the folder of worktrees it is checked out in).
SHARED = next(
    (p for p in (REPO / ".." / "shared", REPO / ".." / ".." / "shared") if p.is_dir()), REPO / ".." / "shared"
)
DEFAULT_CORPUS = SHARED / "corpus" / "handbook" / "sourcegraph-handbook.jsonl"
DEFAULT_MULTILINGUAL = SHARED / "corpus" / "multilingual"

# (kind, query). Filters use the kms syntax; the FTS5 side turns them into WHERE clauses.
QUERIES = [
    ("word", "onboarding"),
    ("word", "escalation"),
    ("word", "renewal"),
    ("word", "churn"),
    ("word", "kubernetes"),
    ("word", "security"),
    ("word", "hiring"),
    ("word", "customer"),
    ("and", "customer onboarding"),
    ("and", "support ticket"),
    ("and", "incident response"),
    ("and", "sales process"),
    ("and", "code review"),
    ("and", "performance review"),
    ("phrase", '"customer success"'),
    ("phrase", '"on call"'),
    ("phrase", '"service level agreement"'),
    ("phrase", '"technical advisor"'),
    ("typo", "onbaord"),
    ("typo", "renewl"),
    ("typo", "kubernets"),
    ("typo", "biling"),
    ("prefix", "onboard*"),
    ("prefix", "escal*"),
    ("prefix", "renew*"),
    ("prefix", "secur*"),
    ("filter", "security category:security"),
    ("filter", "onboarding category:technical-success"),
    ("filter", "hiring type:process"),
    ("filter", "incident tag:engineering"),
]
MULTILINGUAL_QUERIES = [
    ("nb", "kunden"),
    ("nb", "kundene"),
    ("fi", "asiakkaiden"),
    ("zh", "客户"),
    ("hi", "ग्राहक"),
    ("tl", "koponan"),
]
TEAMS = ["Atlas", "Borealis", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Indigo", "Juniper"]
REGIONS = ["EMEA", "APAC", "Americas", "LATAM", "Nordics", "DACH", "ANZ", "India", "Japan", "UK&I"]
TYPES = ["article", "process", "module", "lesson"]
VISIBLE = {"public"}


# ------------------------------------------------------------------------------------------------
# Corpus


def load_handbook(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_multilingual(directory: Path) -> list[dict]:
    docs = []
    for file in sorted(directory.glob("*.txt")):
        text = file.read_text(encoding="utf-8")
        first = next((line.strip() for line in text.splitlines() if line.strip()), file.stem)
        docs.append(
            {"path": f"multilingual/{file.name}", "title": first[:120], "body": text, "language": file.stem}
        )
    return docs


def scaled_corpus(
    pages: list[dict], multilingual: list[dict], scale: int, seed: int = 20261123
) -> list[dict]:
    """Copy 0 is the real handbook; copies 1..scale-1 get a team/region suffix on the title, their
    paragraphs rotated and ~3% of words swapped for words from the handbook's own word stream."""
    rng = random.Random(seed)
    stream = [word for page in pages for word in page["body"].split()]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    docs = []
    for copy in range(scale):
        for page in pages:
            body, title = page["body"], page["title"]
            if copy:
                paragraphs = body.split("\n\n")
                shift = copy % len(paragraphs)
                tokens = "\n\n".join(paragraphs[shift:] + paragraphs[:shift]).split(" ")
                for index in rng.sample(range(len(tokens)), max(1, len(tokens) * 3 // 100)):
                    tokens[index] = rng.choice(stream)
                body = " ".join(tokens)
                team, region = TEAMS[copy % len(TEAMS)], REGIONS[(copy // len(TEAMS)) % len(REGIONS)]
                title = f"{title} ({team} {region} {copy})"
            docs.append(_item(len(docs), page["path"], title, body, "en", base, copy))
    for page in multilingual:
        docs.append(_item(len(docs), page["path"], page["title"], page["body"], page["language"], base, 0))
    return docs


def _item(number: int, path: str, title: str, body: str, language: str, base: datetime, copy: int) -> dict:
    parts = path.split("/")
    category = parts[1] if parts[0] == "departments" and len(parts) > 2 else parts[0].removesuffix(".md")
    tags = [p.removesuffix(".md") for p in parts[1:3]]
    return {
        "id": f"article:{number}",
        "type": TYPES[number % 4],
        "title": title,
        "body": body,
        "tags": tags,
        "category": category,
        "language": language,
        "status": "published",
        # One in ten is visible to editors only, so every kms query really filters.
        "visibility": "editors" if number % 10 == 7 else "public",
        "owner": "owner@example.test",
        "updated": base + timedelta(minutes=number),
        "url": f"/handbook/{copy}/{path}",
        "verified": None,
    }


# ------------------------------------------------------------------------------------------------
# The SQLite FTS5 baseline


class Fts5:
    """The plain baseline: one FTS5 table, bm25 ranking, snippet(). It does less than kms on
    purpose (no visibility filter, no count, no facets), so the comparison is conservative."""

    name = "SQLite FTS5"

    def __init__(self, path: Path):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, category, type, tags, "
            "tokenize='porter unicode61')"
        )
        self.db.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab(docs, 'row')")
        self.rowids: dict[str, int] = {}

    def build(self, docs: list[dict]) -> None:
        self.db.execute("BEGIN")
        for number, doc in enumerate(docs, 1):
            self.db.execute(
                "INSERT INTO docs(rowid, id, title, body, category, type, tags) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    doc["id"],
                    doc["title"],
                    strip_markdown(doc["body"]),
                    doc["category"],
                    doc["type"],
                    " ".join(doc["tags"]),
                ),
            )
            self.rowids[doc["id"]] = number
        self.db.execute("COMMIT")

    def size(self) -> int:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))

    def search(self, text: str) -> list[tuple]:
        words, filters = [], []
        for token in re.findall(r'"[^"]*"|\S+', text):
            field = re.fullmatch(r"(category|type|tag):(.+)", token)
            if field:
                column = "tags" if field.group(1) == "tag" else field.group(1)
                filters.append(f'{column} : "{field.group(2).replace("-", " ")}"')
            else:
                words.append(token)
        rows = self._run(" ".join(words), filters)
        if not rows and not any("*" in w or '"' in w for w in words):
            rows = self._run(self._fuzzy(words), filters)
        return rows

    def _run(self, match: str, filters: list[str]) -> list[tuple]:
        expression = " AND ".join([f"({match})", *filters])
        return self.db.execute(
            "SELECT id, title, snippet(docs, 2, '<mark>', '</mark>', '…', 32) FROM docs "
            "WHERE docs MATCH ? ORDER BY bm25(docs, 0, 2.0, 1.0, 0, 0, 0) LIMIT 10",
            (expression,),
        ).fetchall()

    def _fuzzy(self, words: list[str]) -> str:
        """FTS5 has no fuzzy operator: expand each word from the vocabulary (same first letter,
        edit distance <= 2), as an application would have to."""
        parts = []
        for word in words:
            word = word.lower()
            near = [
                term
                for (term,) in self.db.execute(
                    "SELECT term FROM vocab WHERE term >= ? AND term < ?", (word[0], chr(ord(word[0]) + 1))
                )
                if abs(len(term) - len(word)) <= 2 and kms_engine.osa_distance(word, term, 2) <= 2
            ]
            parts.append("(" + " OR ".join(f'"{t}"' for t in near[:20]) + ")" if near else f'"{word}"')
        return " AND ".join(parts)

    def update(self, doc: dict) -> None:
        self.db.execute("BEGIN")
        self.db.execute(
            "UPDATE docs SET title = ?, body = ? WHERE rowid = ?",
            (doc["title"], strip_markdown(doc["body"]), self.rowids[doc["id"]]),
        )
        self.db.execute("COMMIT")

    def other_reader(self):
        other = sqlite3.connect(self.path, isolation_level=None)
        return lambda token: other.execute(
            "SELECT id FROM docs WHERE docs MATCH ? LIMIT 1", (token,)
        ).fetchall()

    def close(self) -> None:
        self.db.close()


# ------------------------------------------------------------------------------------------------
# kms


class Kms:
    name = "kms (whoosh3)"

    def __init__(self, path: Path, procs: int | None):
        # The result cache is off: every timed query does the full work.
        self.engine = kms_engine.SearchEngine(path, cache_size=0, procs=procs)
        self.path = path

    def build(self, docs: list[dict]) -> None:
        count = self.engine.rebuild(docs)
        assert count == len(docs), (count, len(docs))

    def size(self) -> int:
        current = (self.path / kms_engine.CURRENT_FILE).read_text().strip()
        return sum(p.stat().st_size for p in (self.path / current).rglob("*") if p.is_file())

    def search(self, text: str):
        return self.engine.search(text, visibilities=VISIBLE).hits

    def update(self, doc: dict) -> None:
        self.engine.apply({doc["id"]: doc})

    def other_reader(self):
        other = kms_engine.SearchEngine(self.path, create=False, cache_size=0)
        return lambda token: other.search(token, visibilities=VISIBLE, pagelen=1).hits

    def close(self) -> None:
        self.engine.close()


# ------------------------------------------------------------------------------------------------
# Measurement


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the kms build workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[rank]


def time_queries(engines: list, runs: int) -> dict:
    """Run the fixed query set over and over; the engines take turns, order rotating per pass."""
    samples = {e.name: [] for e in engines}
    by_kind = {e.name: {} for e in engines}
    hits = {e.name: {} for e in engines}
    for engine in engines:  # warm-up pass, not timed
        for _, text in QUERIES:
            hits[engine.name][text] = len(engine.search(text))
    passes = max(1, math.ceil(runs / len(QUERIES)))
    done = 0
    for number in range(passes):
        order = engines if number % 2 == 0 else list(reversed(engines))
        batch = QUERIES[: max(0, min(len(QUERIES), runs - done))]
        for engine in order:
            for kind, text in batch:
                start = time.perf_counter()
                engine.search(text)
                elapsed = (time.perf_counter() - start) * 1000
                samples[engine.name].append(elapsed)
                by_kind[engine.name].setdefault(kind, []).append(elapsed)
        done += len(batch)
    return {
        name: {
            "p50": statistics.median(values),
            "p95": percentile(values, 95),
            "n": len(values),
            "kinds": {k: statistics.median(v) for k, v in by_kind[name].items()},
            "zero_hit_queries": [q for q, n in hits[name].items() if n == 0],
        }
        for name, values in samples.items()
    }


def time_updates(engine, docs: list[dict], count: int = 20) -> dict:
    rng = random.Random(7)
    reader = engine.other_reader()
    update_ms, visible_ms = [], []
    for number in range(count):
        doc = dict(rng.choice([d for d in docs[:2000] if d["visibility"] == "public"]))
        token = f"zqxmarker{number}w{rng.randrange(10**6)}"
        doc["body"] = doc["body"] + f"\n\nUpdated: {token}."
        start = time.perf_counter()
        engine.update(doc)
        update_ms.append((time.perf_counter() - start) * 1000)
        while not reader(token):
            if time.perf_counter() - start > 10:
                break
            time.sleep(0.001)
        visible_ms.append((time.perf_counter() - start) * 1000)
    return {
        "update_p50": statistics.median(update_ms),
        "update_p95": percentile(update_ms, 95),
        "visible_p50": statistics.median(visible_ms),
        "visible_max": max(visible_ms),
    }


_WORKER_MEMORY_CODE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from benchmarks.search_bench import QUERIES, MULTILINGUAL_QUERIES, VISIBLE, kms_engine

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

before = rss_mb()
engine = kms_engine.SearchEngine(sys.argv[2], create=False)
texts = [text for _, text in QUERIES] + [text for _, text in MULTILINGUAL_QUERIES]
engine.search(texts[0], visibilities=VISIBLE)
opened = rss_mb()
for number in range(int(sys.argv[3])):
    engine.search(texts[number % len(texts)], visibilities=VISIBLE, page=1 + (number // len(texts)) % 3)
print(json.dumps({"rss_start_mb": before, "rss_open_mb": opened, "rss_after_mb": rss_mb()}))
"""


def worker_memory(path: Path, queries: int = 1000) -> dict:
    """Resident memory of a fresh process (as a web worker) that opens the index and answers ``queries``
    mixed queries (the fixed set plus the multilingual ones, pages 1-3), result cache on as in the app."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _WORKER_MEMORY_CODE, str(REPO), str(path), str(queries)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "queries": queries}


def run_scale(
    scale: int,
    pages: list[dict],
    multilingual: list[dict],
    runs: int,
    workdir: Path,
    procs: int | None,
    memory_queries: int = 0,
) -> dict:
    docs = scaled_corpus(pages, multilingual, scale)
    megabytes = sum(len(d["body"]) for d in docs) / 1e6
    print(f"\n== x{scale}: {len(docs):,} documents ({megabytes:.0f} MB of Markdown)", flush=True)
    out: dict = {"scale": scale, "docs": len(docs), "engines": {}}
    engines = [Kms(workdir / f"kms-x{scale}", procs), Fts5(workdir / f"fts5-x{scale}.db")]
    out["load_before"] = os.getloadavg()[0]
    for engine in engines:
        gc.collect()
        cpu_before = cpu_seconds()
        start = time.perf_counter()
        engine.build(docs)
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds() - cpu_before
        out["engines"][engine.name] = {
            "build_s": elapsed,
            "docs_per_s": len(docs) / elapsed,
            "build_cpu_s": cpu,
            "docs_per_cpu_s": len(docs) / cpu,
            "size_mb": engine.size() / 1e6,
        }
        print(
            f"  {engine.name:14} build {elapsed:7.1f} s  {len(docs) / elapsed:7.0f} docs/s  "
            f"({cpu:.1f} CPU s, {len(docs) / cpu:.0f} docs per CPU s)  "
            f"index {out['engines'][engine.name]['size_mb']:.1f} MB",
            flush=True,
        )
    latency = time_queries(engines, runs)
    for engine in engines:
        out["engines"][engine.name].update(latency[engine.name])
    if memory_queries:
        out["worker_memory"] = worker_memory(workdir / f"kms-x{scale}", memory_queries)
        print(
            "  kms worker memory (RSS): {rss_start_mb:.0f} MB at start, {rss_open_mb:.0f} MB with the index "
            "open, {rss_after_mb:.0f} MB after {n:,} mixed queries".format(
                n=memory_queries, **out["worker_memory"]
            ),
            flush=True,
        )
    languages = {}
    for language, text in MULTILINGUAL_QUERIES:
        languages[f"{language}: {text}"] = {e.name: len(e.search(text)) for e in engines}
    out["multilingual"] = languages
    for engine in engines:
        out["engines"][engine.name].update(time_updates(engine, docs))
        engine.close()
    out["load_after"] = os.getloadavg()[0]
    for engine in engines:
        stats = out["engines"][engine.name]
        print(
            f"  {engine.name:14} query p50 {stats['p50']:6.1f} ms  p95 {stats['p95']:6.1f} ms  "
            f"(n={stats['n']})  update p50 {stats['update_p50']:6.1f} ms  "
            f"p95 {stats['update_p95']:6.1f} ms  "
            f"visible p50 {stats['visible_p50']:6.1f} ms  max {stats['visible_max']:6.1f} ms",
            flush=True,
        )
        print(
            "  "
            + " " * 14
            + " median by kind: "
            + ", ".join(f"{k} {v:.1f}" for k, v in stats["kinds"].items()),
            flush=True,
        )
        if stats["zero_hit_queries"]:
            print(f"  {engine.name:14} no hits for: {stats['zero_hit_queries']}")
    print(
        "  multilingual hits (kms / FTS5): "
        + ", ".join(f"{q} {v['kms (whoosh3)']}/{v['SQLite FTS5']}" for q, v in languages.items()),
        flush=True,
    )
    return out


# ------------------------------------------------------------------------------------------------
# Targets and report


def check_targets(results: list[dict]) -> list[tuple[str, str, bool | None]]:
    checks: list[tuple[str, str, bool | None]] = []
    for result in results:
        kms = result["engines"]["kms (whoosh3)"]
        fts = result["engines"]["SQLite FTS5"]
        ratio = kms["p95"] / fts["p95"]
        scale = result["scale"]
        if scale == 10:
            checks.append(
                (
                    "x10 p95 with snippets <= 3x FTS5 and <= 80 ms",
                    f"{kms['p95']:.1f} ms = {ratio:.2f}x FTS5",
                    ratio <= 3 and kms["p95"] <= 80,
                )
            )
            checks.append(
                (
                    "(aim) x10 p95 <= 2x FTS5 and < 50 ms",
                    f"{kms['p95']:.1f} ms = {ratio:.2f}x FTS5",
                    ratio <= 2 and kms["p95"] < 50,
                )
            )
        if scale == 10:
            checks.append(
                ("x10 p95 with snippets <= 0.8x FTS5 (issue 20)", f"{ratio:.2f}x FTS5", ratio <= 0.8)
            )
            checks.append(
                (
                    "x10 full rebuild >= 1,000 docs/s with 2 processes (issue 20)",
                    f"{kms['docs_per_s']:.0f} docs/s ({kms['docs_per_cpu_s']:.0f} per CPU s)",
                    kms["docs_per_s"] >= 1000,
                )
            )
        if scale == 50:
            checks.append(
                ("x50 p95 with snippets <= 5x FTS5", f"{kms['p95']:.1f} ms = {ratio:.2f}x FTS5", ratio <= 5)
            )
            checks.append(("x50 p95 with snippets <= 1x FTS5 (issue 20)", f"{ratio:.2f}x FTS5", ratio <= 1))
        checks.append(
            (
                f"x{scale} full rebuild >= 250 docs/s",
                f"{kms['docs_per_s']:.0f} docs/s",
                kms["docs_per_s"] >= 250,
            )
        )
        checks.append(
            (
                f"(aim) x{scale} full rebuild >= 500 docs/s",
                f"{kms['docs_per_s']:.0f} docs/s",
                kms["docs_per_s"] >= 500,
            )
        )
        checks.append(
            (
                f"x{scale} single-document update visible to another searcher within 1 s",
                f"max {kms['visible_max']:.0f} ms",
                kms["visible_max"] <= 1000,
            )
        )
    return checks


def report(results: list[dict], checks, command: str, elapsed: float) -> str:
    kinds = list(dict.fromkeys(kind for kind, _ in QUERIES))
    loads = ", ".join(f"x{r['scale']} {r['load_before']:.1f} / {r['load_after']:.1f}" for r in results)
    lines = [
        "## Search",
        "",
        (
            f"Measured {datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.machine()} with "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
            f"one run of {elapsed / 60:.1f} min, both engines built and queried in the same run (query "
            f"passes alternate the engine order). Load average (1 min) before / after each scale: {loads} — "
            "the machine is shared, so wall-clock figures move with what else runs; the CPU-second "
            "figures move less."
        ),
        "",
        f"Command (from the repository root): `{command}`",
        "",
        (
            "Corpus: the Sourcegraph handbook (880 pages) plus the five multilingual articles; x10 and x50 "
            "are synthetic copies (team/region title suffix, rotated paragraphs, ~3% of words swapped). "
            "One document in ten is visible to editors only and kms searches as a user who sees "
            '"public" (FTS5, the plain baseline, filters nothing). kms queries run with its result '
            "cache off and return hits with highlighted snippets, the total count, type/category/tag facet "
            "counts and typo correction; FTS5 returns the top 10 by bm25 with snippet(), typos expanded "
            "from fts5vocab when a query finds nothing. Build times include Markdown stripping for both "
            'engines; kms builds with one worker process per core. "Visible" is the time from the '
            "start of a single-document update until a separate searcher on the same index finds it."
        ),
        "",
        (
            "| scale | docs | engine | build docs/s | docs per CPU s | index MB | query p50 ms | "
            "query p95 ms | update p50 ms | update p95 ms | visible p50 ms | visible max ms |"
        ),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for name, s in result["engines"].items():
            lines.append(
                f"| x{result['scale']} | {result['docs']:,} | {name} | {s['docs_per_s']:,.0f} | "
                f"{s['docs_per_cpu_s']:,.0f} | {s['size_mb']:.1f} | {s['p50']:.1f} | {s['p95']:.1f} | "
                f"{s['update_p50']:.1f} | {s['update_p95']:.1f} | {s['visible_p50']:.1f} | "
                f"{s['visible_max']:.1f} |"
            )
    lines += [
        "",
        "Median query latency by kind (ms):",
        "",
        "| scale | engine | " + " | ".join(kinds) + " |",
        "|---|---|" + "---:|" * len(kinds),
    ]
    for result in results:
        for name, s in result["engines"].items():
            lines.append(
                f"| x{result['scale']} | {name} | "
                + " | ".join(f"{s['kinds'].get(k, float('nan')):.1f}" for k in kinds)
                + " |"
            )
    lines += [
        "",
        (
            "Reading the figures: the kms build is CPU-bound in one worker process per core, so its "
            'wall-clock rate is about cores x "docs per CPU s" on an idle machine and falls when other '
            "processes take the cores (during development, with test suites running beside it at load "
            "average 3-6, the same code built at 150-260 docs/s). Query latency includes parsing, "
            "scoring every visible match (for the total and the facets), snippets and, for typos, the "
            "correction; kms's p95 is set by phrases and two-word queries over common words, FTS5's by "
            "the typo expansion."
        ),
    ]
    memory = [r for r in results if r.get("worker_memory")]
    if memory:
        lines += [
            "",
            "Memory of a worker (a fresh process that opens the index, result cache on as in the app): "
            + "; ".join(
                "x{scale}: {m[rss_start_mb]:.0f} MB before, {m[rss_open_mb]:.0f} MB with the index open, "
                "{m[rss_after_mb]:.0f} MB after {m[queries]:,} mixed queries".format(
                    scale=r["scale"], m=r["worker_memory"]
                )
                for r in memory
            )
            + ".",
        ]
    lines += ["", "Targets:", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {label} — {value}" for label, value, ok in checks]
    multilingual = results[-1]["multilingual"] if results else {}
    if multilingual:
        lines += [
            "",
            "Multilingual queries, hits in kms / FTS5 (top 10): "
            + ", ".join(f"{q} {v['kms (whoosh3)']} / {v['SQLite FTS5']}" for q, v in multilingual.items())
            + ".",
        ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Search\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="handbook JSON Lines file")
    parser.add_argument(
        "--multilingual", type=Path, default=DEFAULT_MULTILINGUAL, help="folder of <lang>.txt articles"
    )
    parser.add_argument("--scales", default="1,10,50", help="comma-separated copies of the handbook")
    parser.add_argument(
        "--queries",
        type=int,
        default=300,
        help="timed query runs per engine and scale (the fixed set of 30 is cycled)",
    )
    parser.add_argument("--procs", type=int, default=None, help="kms build processes (default: cores)")
    parser.add_argument(
        "--memory-queries",
        type=int,
        default=1000,
        help="mixed queries a fresh worker process answers before its memory is read (0 = skip)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where indexes go (default: a temp dir)")
    parser.add_argument("--report", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    command = ".venv/bin/python benchmarks/search_bench.py " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:])
    )
    pages = load_handbook(args.corpus)
    multilingual = load_multilingual(args.multilingual) if args.multilingual.is_dir() else []
    workdir = Path(tempfile.mkdtemp(prefix="kms-search-bench-", dir=args.workdir))
    started = time.perf_counter()
    results = []
    try:
        for scale in scales:
            results.append(
                run_scale(scale, pages, multilingual, args.queries, workdir, args.procs, args.memory_queries)
            )
            for entry in workdir.iterdir():  # keep the disk tidy between scales
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    checks = check_targets(results)
    print()
    for label, value, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")
    if not args.no_report:
        write_section(args.report, report(results, checks, command.strip(), elapsed))
        print(f"\nwritten to {args.report}")
    required = [ok for label, _, ok in checks if not label.startswith("(aim)")]
    return 0 if all(required) else 1


if __name__ == "__main__":
    sys.exit(main())
