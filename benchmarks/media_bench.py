"""Media figures: a 20 MB upload and 50 screenshots (time, peak memory), an article with 30 images against the
same article without, and revalidation (304). Prints figures; not a test.

    python benchmarks/media_bench.py [--runs 30] [--database URL]

Memory is Python's own allocation peak (tracemalloc) while the request runs in this process: the request parser
spools the upload to a temporary file and kms copies it in 64 KiB chunks, so the peak stays far below the file's
size. The test client builds the request body in a spooled temporary file too, so it adds little.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from kms import create_app  # noqa: E402
from kms.articles import services as articles  # noqa: E402
from kms.articles.models import Category  # noqa: E402
from kms.auth import services as auth  # noqa: E402
from kms.auth.models import Role  # noqa: E402
from kms.auth.system import SYSTEM  # noqa: E402
from kms.extensions import db  # noqa: E402

MB = 1024 * 1024


def screenshot(n: int) -> bytes:
    """A 1440 x 900 PNG that looks like an admin panel (flat colours, boxes, text), different each time."""
    image = Image.new("RGB", (1440, 900), (246, 247, 249))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1440, 56), fill=(30, 60 + n % 100, 120))
    for row in range(14):
        y = 90 + row * 54
        draw.rectangle((240, y, 1400, y + 40), outline=(200, 204, 210), fill=(255, 255, 255))
        draw.text(
            (256, y + 12),
            f"Customer {n}-{row}: renewal due, health score {(n * row) % 100}",
            fill=(40, 40, 40),
        )
    draw.rectangle((0, 56, 220, 900), fill=(235, 238, 242))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def big_zip(size: int) -> Path:
    """A ZIP of `size` random bytes (stored, not compressed), written to a temporary file."""
    path = Path(tempfile.mkdtemp()) / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive, archive.open("data.bin", "w") as member:
        for _ in range(size // MB):
            member.write(os.urandom(MB))
    return path


def measured(call):
    """(seconds, peak MiB of Python allocations) for one call."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    return result, elapsed, peak


def timed(client, url: str, runs: int, **kwargs) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, **kwargs)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 304), response.status_code
    return times


def p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="kms-media-bench-")
    app = create_app(
        {
            "KMS_INSTANCE_PATH": folder,
            "KMS_DATABASE_URL": args.database or f"sqlite:///{folder}/kms.db",
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "KMS_LOAD_STARTER_CONTENT": "0",
        }
    )
    with app.app_context():
        db.create_all()
        for position, name in enumerate(articles.DEFAULT_CATEGORIES, 1):
            db.session.add(Category(name=name, position=position))
        db.session.commit()
        author, _ = auth.create_user(
            "author@bench.test", "Author", Role.AUTHOR, actor=SYSTEM, password="bench-pw-123"
        )
        db.session.commit()
        client = app.test_client()
        assert (
            client.post("/login", data={"email": author.email, "password": "bench-pw-123"}).status_code == 302
        )

        archive = big_zip(20 * MB)
        with archive.open("rb") as handle:
            response, seconds, peak = measured(
                lambda: client.post(
                    "/media/upload",
                    data={"file": (handle, "export.zip"), "owner": "draft"},
                    content_type="multipart/form-data",
                )
            )
        assert response.status_code == 201, response.data
        print(f"20 MB upload (ZIP): {seconds * 1000:.0f} ms, peak Python memory {peak:.1f} MiB")

        shots = [screenshot(n) for n in range(50)]
        uploaded, times, peaks = [], [], []
        for n, data in enumerate(shots):
            form = {"file": (io.BytesIO(data), f"screen {n}.png"), "alt": f"Screen {n}"}
            response, seconds, peak = measured(
                lambda form=form: client.post("/media/upload", data=form, content_type="multipart/form-data")
            )
            assert response.status_code == 201, response.data
            uploaded.append(response.get_json())
            times.append(seconds * 1000)
            peaks.append(peak)
        print(
            f"50 screenshots (1440x900 PNG, {sum(map(len, shots)) / len(shots) / 1024:.0f} KiB each): "
            f"{sum(times) / 1000:.1f} s in all, median {statistics.median(times):.0f} ms, p95 {p95(times):.0f} ms "
            f"per upload; peak Python memory {max(peaks):.1f} MiB"
        )

        text = "A paragraph about renewals that explains the screen below in a few sentences.\n\n"
        plain = articles.create_article(
            articles.ArticleFields(title="Renewals without images", body=text * 30, category="Billing"),
            actor=author,
        )
        with_images = articles.create_article(
            articles.ArticleFields(
                title="Renewals with images",
                category="Billing",
                body="".join(text + item["markdown"] + "\n\n" for item in uploaded[:30]),
            ),
            actor=author,
        )
        for slug in (plain.slug, with_images.slug):
            page = client.get(f"/handbook/articles/{slug}")
            print(
                f"  {slug}: {page.status_code}, {len(page.data) / 1024:.0f} KiB, {page.data.count(b'<img')} images"
            )
            timed(client, f"/handbook/articles/{slug}", 5)
        bare, rich = [], []
        for _ in range(args.runs * 5):  # interleaved, so drift on a shared machine hits both alike
            bare += timed(client, f"/handbook/articles/{plain.slug}", 1)
            rich += timed(client, f"/handbook/articles/{with_images.slug}", 1)
        ratio = statistics.median(rich) / statistics.median(bare)
        print(
            f"article page, 30 paragraphs: {statistics.median(bare):.1f} ms median without images, "
            f"{statistics.median(rich):.1f} ms with 30 images ({(ratio - 1) * 100:+.1f} %)"
        )

        image = uploaded[0]["url"] + "?size=page"
        first = client.get(image)
        etag = first.headers["ETag"]
        fresh = timed(client, image, args.runs)
        again = timed(client, image, args.runs, headers={"If-None-Match": etag})
        status = client.get(image, headers={"If-None-Match": etag}).status_code
        print(
            f"server process high-water mark (RSS, Pillow's pixel buffers included): "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
        print(
            f"image request: {statistics.median(fresh):.1f} ms median (200, {len(first.data) / 1024:.0f} KiB); "
            f"revalidation {statistics.median(again):.1f} ms median, answered {status}"
        )


if __name__ == "__main__":
    main()
