"""Images with Pillow: check, strip metadata by re-encoding the pixels, measure, make the page-sized version.

Re-encoding keeps what a reader sees and drops everything else: EXIF (GPS position, camera, owner), comments,
colour-profile tricks, and whatever a polyglot file carried after or around the image (a GIF that is also an
HTML or JavaScript file stops being one). A decompression bomb is refused before its pixels are decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from kms.errors import Invalid
from kms.media.sniff import FileType

MAX_PIXELS = 40_000_000  # e.g. 8000 x 5000: far beyond any screenshot, far below a bomb
PAGE_WIDTH = 1600  # the version an article or lesson shows
JPEG_QUALITY = 90
# Pillow's own guard, at the same limit: Image.open refuses far larger headers before reading further.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass
class CleanImage:
    data: bytes
    width: int
    height: int
    page: bytes | None  # None: the image is already small enough to show as it is


def _refuse_bomb(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise Invalid(
            f"The image is {width} x {height} pixels; kms accepts at most {MAX_PIXELS // 1_000_000} "
            "million pixels (such files are often built to exhaust a server's memory). Resize it and "
            "upload again.",
            field="file",
        )


def _save(
    image: Image.Image,
    kind: FileType,
    frames: list[Image.Image] | None = None,
    durations: list[int] | None = None,
    loop: int | None = None,
) -> bytes:
    out = io.BytesIO()
    if kind.image_format == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif frames and len(frames) > 1:
        extra = {"duration": durations, "loop": loop or 0}
        frames[0].save(out, kind.image_format, save_all=True, append_images=frames[1:], **extra)
    elif kind.image_format == "WEBP":
        image.save(out, "WEBP", quality=JPEG_QUALITY)
    else:
        image.save(out, kind.image_format)
    return out.getvalue()


def _frames(image: Image.Image) -> tuple[list[Image.Image], list[int]]:
    frames, durations = [], []
    for index in range(image.n_frames):
        image.seek(index)
        frame = image.copy()
        durations.append(int(image.info.get("duration", 100)))
        _strip(frame)
        frames.append(frame)
    return frames, durations


def _strip(image: Image.Image) -> None:
    """Forget every piece of metadata except transparency, which is part of the pixels."""
    transparency = image.info.get("transparency")
    image.info.clear()
    if transparency is not None:
        image.info["transparency"] = transparency


def clean(stream: BinaryIO, kind: FileType) -> CleanImage:
    """The image's pixels in a fresh file of the same format, with no metadata; Invalid if it is not one."""
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=[kind.image_format]) as image:
                _refuse_bomb(*image.size)
                image.load()
                animated = getattr(image, "n_frames", 1) > 1
                if animated:
                    _refuse_bomb(image.width, image.height * image.n_frames)
                    frames, durations = _frames(image)
                    data = _save(frames[0], kind, frames, durations, image.info.get("loop"))
                    return CleanImage(data, image.width, image.height, None)
                upright = ImageOps.exif_transpose(image)  # keep what the camera meant, then drop EXIF
                _strip(upright)
                data = _save(upright, kind)
                page = None
                if upright.width > PAGE_WIDTH:
                    small = upright.copy()
                    small.thumbnail((PAGE_WIDTH, PAGE_WIDTH * 10))
                    page = _save(small, kind)
                return CleanImage(data, upright.width, upright.height, page)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid(
            f"The image has more than {MAX_PIXELS // 1_000_000} million pixels, the most kms accepts "
            "(such files are often built to exhaust a server's memory). Resize it and upload again.",
            field="file",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise Invalid(
            f"The file looks like a {kind.extension.upper()} image but is damaged; kms cannot read "
            "it. Save it again and upload the new file.",
            field="file",
        ) from None
    finally:
        stream.seek(0)


# What Pillow reports about a file that is only pixels (format details, not metadata about anyone or anything).
_BARE_INFO = frozenset(
    {
        "transparency",
        "dpi",
        "jfif",
        "jfif_version",
        "jfif_unit",
        "jfif_density",
        "gamma",
        "srgb",
        "duration",
        "loop",
        "background",
        "version",
        "progressive",
        "progression",
        "interlace",
        "aspect",
        "extension",
        "compression",
        "adobe",
        "adobe_transform",
    }
)
_ENDINGS = {"PNG": b"IEND\xaeB`\x82", "JPEG": b"\xff\xd9", "GIF": b";"}


def _ends_cleanly(data: bytes, kind: FileType) -> bool:
    """No bytes after the image's own end marker (where a polyglot keeps its second file)."""
    if kind.image_format == "WEBP":
        return len(data) >= 12 and int.from_bytes(data[4:8], "little") + 8 == len(data)
    return data.endswith(_ENDINGS[kind.image_format])


def is_bare(data: bytes, kind: FileType) -> bool:
    """True when the image file holds pixels and format details only: no EXIF, text, comment, colour profile or
    trailing bytes. Such a file can be kept byte for byte (the content folder's round trip needs that)."""
    if not _ends_cleanly(data, kind):
        return False
    try:
        with Image.open(io.BytesIO(data), formats=[kind.image_format]) as image:
            if image.getexif() or getattr(image, "text", None):
                return False
            return set(image.info) <= _BARE_INFO
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return False
