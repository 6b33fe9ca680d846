"""One server vs two behind HAProxy, and how long a save on one server takes to show in search on the other.

    python benchmarks/cluster_bench.py                       # 20 s of load per setup, 20 s per edit rate
    python benchmarks/cluster_bench.py --load-seconds 10 --lag-seconds 10 --json out.json

It starts the same cluster as tests/cluster (tests/cluster/harness.py): a throwaway PostgreSQL database on
127.0.0.1:5432, Redis on 127.0.0.1:6379, SeaweedFS as the S3 server, `kms serve` processes (2 gunicorn workers
each) and HAProxy from deploy/haproxy.cfg. Printed:

1. Requests/s of the cluster test's mixed load (editors read, search, edit and upload; members read and complete
   lessons; one thread per person) through the balancer with one server behind it, then with two.
2. The lag from a save acknowledged by server A (the redirect after the edit form's POST) to the first search on
   server B that finds it (p50/p95/max), at 1 and at 20 edits per second. Each edit goes to an article with no
   edit still unseen, so one search for all unseen words (`w1 OR w2 ...`) tells which have arrived; the
   poller repeats that search back to back, so the figures include up to one search's time.

All processes run on this machine: with both servers on the same cores, "two servers" measures the software,
not added hardware.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import load  # noqa: E402
from tests.cluster.harness import (  # noqa: E402
    Cluster,
    MixedLoad,
    Person,
    marker,
    missing_services,
    names,
    search_urls,
    site_map,
)


def percentile(values: list[float], fraction: float) -> float:
    return load.percentile(values, fraction)


def mixed_load(cluster: Cluster, servers, people, seconds: float) -> dict:
    balancer = cluster.balance(servers)
    editors = [
        Person(balancer.url, email, token) for email, role, token in people if role in ("admin", "author")
    ]
    members = [Person(balancer.url, email, token) for email, role, token in people if role == "member"]
    for person in editors + members:
        person.log_in()
    articles, lessons = site_map(editors[0], members[0])
    work = MixedLoad(editors, members, articles, lessons)
    took = work.run(seconds)
    return {
        "servers": len(servers),
        "threads": len(editors) + len(members),
        "seconds": round(took, 1),
        "requests": work.requests,
        "requests_per_second": round(work.requests / took, 1),
        "edits": len(work.edits),
        "uploads": len(work.uploads),
        "completions": len(work.completions),
        "conflicts": work.conflicts,
        "errors": len(work.errors),
        "error_samples": work.errors[:5],
    }


class LagProbe:
    """Editors save on A at a set rate; one poller searches B for every unseen word at once."""

    def __init__(self, a_url: str, b_url: str, admin: Person, editors: list[Person], articles: list[str]):
        self.a_url, self.b_url, self.admin = a_url, b_url, admin
        self.editors = editors
        self.free = list(articles)
        self.pending: dict[str, tuple[str, float]] = {}  # article path -> (word, acknowledged at)
        self.lags: list[float] = []
        self.saved = 0
        self.conflicts = 0
        self.errors: list[str] = []
        self.poll_errors: list[str] = []
        self.cond = threading.Condition()

    def _editor(self, person: Person, next_slot, end: float) -> None:
        client = person.on(self.a_url)
        while True:
            slot = next_slot()
            if slot >= end:
                return
            time.sleep(max(0.0, slot - time.monotonic()))
            with self.cond:
                while not self.free and time.monotonic() < end:
                    self.cond.wait(0.1)
                if not self.free:
                    return
                path = self.free.pop(0)
            word = marker()
            try:
                answer = person.edit(path, word, client)
            except Exception as error:  # noqa: BLE001 - counted
                answer, problem = None, repr(error)
            else:
                problem = f"{answer.status_code}"
            with self.cond:
                if answer is not None and answer.status_code == 302:
                    self.pending[path] = (word, time.monotonic())
                    self.saved += 1
                else:
                    if answer is not None and answer.status_code == 409:
                        self.conflicts += 1
                    else:
                        self.errors.append(problem)
                    self.free.append(path)
                    self.cond.notify_all()

    def _poller(self, stop: threading.Event) -> None:
        while not stop.is_set() or self.pending:
            with self.cond:
                waiting = dict(self.pending)
            if not waiting:
                time.sleep(0.01)
                continue
            # The oldest 20 unseen words (a query keeps at most 24 words; the rest wait for the next round).
            waiting = dict(list(waiting.items())[:20])
            query = " OR ".join(word for word, _ in waiting.values())
            try:
                found = search_urls(self.b_url, self.admin.token, query, per_page=50)
                if found == [] and len(waiting) > 1:
                    # No exact hit at all, or a typo-tolerant answer (counted as none): ask word by word.
                    found = [
                        url
                        for word, _ in waiting.values()
                        for url in search_urls(self.b_url, self.admin.token, word) or []
                    ]
            except Exception as error:  # noqa: BLE001 - counted; the poller goes on
                self.poll_errors.append(repr(error))
                time.sleep(0.1)
                continue
            now = time.monotonic()
            with self.cond:
                for path, (_, acknowledged) in waiting.items():
                    if any(names(url, path) for url in found or ()):
                        self.lags.append(now - acknowledged)
                        del self.pending[path]
                        self.free.append(path)
                self.cond.notify_all()
            if stop.is_set() and time.monotonic() > self.give_up:
                return

    def run(self, rate: float, seconds: float) -> dict:
        start = time.monotonic() + 0.5
        end = start + seconds
        self.give_up = end + 30
        counter = {"n": 0}
        lock = threading.Lock()

        def next_slot() -> float:
            with lock:
                slot = start + counter["n"] / rate
                counter["n"] += 1
                return slot

        stop = threading.Event()
        poller = threading.Thread(target=self._poller, args=(stop,))
        poller.start()
        editors = [threading.Thread(target=self._editor, args=(p, next_slot, end)) for p in self.editors]
        for thread in editors:
            thread.start()
        for thread in editors:
            thread.join()
        stop.set()
        poller.join()
        unseen = [
            {
                "path": path,
                "on_a": search_urls(self.a_url, self.admin.token, word),
                "on_b": search_urls(self.b_url, self.admin.token, word),
            }
            for path, (word, _) in self.pending.items()
        ]
        return {
            "target_edits_per_second": rate,
            "achieved_edits_per_second": round(self.saved / seconds, 1),
            "saves": self.saved,
            "seen_on_b": len(self.lags),
            "never_seen": len(self.pending),
            "never_seen_detail": unseen[:5],
            "conflicts": self.conflicts,
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "search_errors_on_b": self.poll_errors[:5],
            "lag_p50_s": round(percentile(self.lags, 0.5), 3),
            "lag_p95_s": round(percentile(self.lags, 0.95), 3),
            "lag_max_s": round(max(self.lags), 3) if self.lags else None,
            "lag_mean_s": round(statistics.fmean(self.lags), 3) if self.lags else None,
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--load-seconds", type=float, default=20.0)
    parser.add_argument("--lag-seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--skip-load", action="store_true", help="only the lag runs")
    args = parser.parse_args()
    missing = missing_services()
    if missing:
        print("cannot start a cluster here: " + "; ".join(missing), file=sys.stderr)
        return 2
    figures: dict = {}
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="kms-cluster-bench-")))
    try:
        load.progress("starting SeaweedFS, PostgreSQL database, servers A and B")
        cluster.start_storage()
        a, b = cluster.server("a"), cluster.server("b")
        a.start(wait=False)
        b.start(wait=False)
        a.wait_healthy()
        b.wait_healthy()
        # admin, member, author, manager, member, member, member, author
        # then more authors for the edit-rate runs
        everyone = load.create_users(cluster, 13)
        people = everyone[:8]
        for servers in () if args.skip_load else ([a], [a, b]):
            load.progress(f"mixed load, {len(servers)} server(s), {args.load_seconds:.0f} s")
            figures[f"load_{len(servers)}_servers"] = result = mixed_load(
                cluster, servers, people, args.load_seconds
            )
            print(json.dumps(result), flush=True)
        editors = [
            Person(a.url, email, token) for email, role, token in everyone if role in ("admin", "author")
        ]
        for person in editors:
            person.log_in()
        articles, _ = site_map(editors[0], Person(a.url, people[1][0], people[1][2]))
        for rate in (1.0, 20.0):
            load.progress(f"lag A -> B at {rate:.0f} edits/s, {args.lag_seconds:.0f} s")
            writers = editors[:1] if rate <= 1 else editors
            probe = LagProbe(a.url, b.url, editors[0], writers, articles)
            figures[f"lag_{rate:.0f}_per_second"] = result = probe.run(rate, args.lag_seconds)
            print(json.dumps(result), flush=True)
    finally:
        cluster.close()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
