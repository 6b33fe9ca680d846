"""Video links on a line of their own become embedded players (YouTube, Vimeo, Loom, Microsoft Stream).

A paragraph that is nothing but one such link (bare or in <angle brackets>) is replaced by a placeholder while
Python-Markdown renders; nh3 then sanitizes the page as usual (so an <iframe> written by hand is still removed),
and only afterwards `insert_players` swaps each placeholder for the player this module built itself from the
parsed URL. URLs are taken apart with urllib.parse and plain string checks: no regular expression, no network.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension

# The frame origins the Content-Security-Policy allows (kms/web.py builds frame-src from this list).
FRAME_ORIGINS = (
    "https://www.youtube-nocookie.com",
    "https://player.vimeo.com",
    "https://www.loom.com",
    "https://*.sharepoint.com",
    "https://web.microsoftstream.com",
)
MAX_URL = 2048
SANDBOX = "allow-scripts allow-same-origin allow-presentation allow-popups"
ALLOW = "fullscreen; picture-in-picture"
YOUTUBE_HOSTS = {
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "youtube-nocookie.com",
    "www.youtube-nocookie.com",
}
VIMEO_HOSTS = {"vimeo.com", "www.vimeo.com", "player.vimeo.com"}
LOOM_HOSTS = {"loom.com", "www.loom.com"}
ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
HOST_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
SHAREPOINT_EMBED_OPTIONS = '{"ust":true,"hv":"CopyEmbedCode"}'


@dataclass(frozen=True)
class Video:
    """A recognised video link: who plays it, the player's address and the link as written."""

    provider: str
    src: str
    link: str


def _token(value: str, low: int, high: int) -> str | None:
    return value if low <= len(value) <= high and set(value) <= ID_CHARS else None


def _seconds(value: str) -> int | None:
    """A start time as YouTube writes it (`90`, `90s`, `1m30s`, `1h2m3s`), in seconds; None when it is not one."""
    total, digits = 0, ""
    for char in value[:20]:
        if char.isdigit():
            digits += char
        elif char in "hms" and digits:
            total += int(digits) * {"h": 3600, "m": 60, "s": 1}[char]
            digits = ""
        else:
            return None
    if digits:
        total += int(digits)
    return total or None


def _youtube(host: str, path: list[str], query: dict[str, list[str]]) -> str | None:
    if host == "youtu.be":
        video_id = _token(path[0], 11, 11) if len(path) == 1 else None
    elif len(path) == 1 and path[0] == "watch":
        video_id = _token(query.get("v", [""])[0], 11, 11)
    elif len(path) == 2 and path[0] in {"shorts", "embed", "live"}:
        video_id = _token(path[1], 11, 11)
    else:
        return None
    if video_id is None:
        return None
    start = _seconds(query.get("t", query.get("start", [""]))[0])
    suffix = f"?start={start}" if start else ""
    return f"https://www.youtube-nocookie.com/embed/{video_id}{suffix}"


def _vimeo(host: str, path: list[str], query: dict[str, list[str]]) -> str | None:
    if host == "player.vimeo.com":
        path = path[1:] if path[:1] == ["video"] else []
    elif path[:1] == ["channels"] and len(path) == 3:
        path = path[2:]
    if not path or len(path) > 2 or not path[0].isdigit() or not path[0].isascii() or len(path[0]) > 12:
        return None
    unlisted = path[1] if len(path) == 2 else query.get("h", [""])[0]
    params = {"dnt": "1"}
    if unlisted:
        if not (_token(unlisted, 1, 40) and unlisted.isalnum()):
            return None
        params["h"] = unlisted
    return f"https://player.vimeo.com/video/{path[0]}?{urlencode(params)}"


def _loom(path: list[str]) -> str | None:
    if len(path) != 2 or path[0] not in {"share", "embed"}:
        return None
    video_id = _token(path[1], 10, 64)
    return f"https://www.loom.com/embed/{video_id}" if video_id and video_id.isalnum() else None


def _sharepoint_host(host: str) -> bool:
    tenant, dot, rest = host.partition(".")
    return (
        rest == "sharepoint.com"
        and bool(dot)
        and 0 < len(tenant) <= 63
        and set(tenant) <= HOST_LABEL_CHARS
        and not tenant.startswith("-")
    )


def _sharepoint(host: str, path: list[str], query: dict[str, list[str]]) -> str | None:
    """Stream on SharePoint: the embed page Stream's "Embed code" gives, or the `stream.aspx` page with `embed`.

    Microsoft documents embed codes of the form `<site>/_layouts/15/embed.aspx?UniqueId=<guid>&embed=...`. A
    `stream.aspx?id=<file path>` link names the file by path, not by its GUID, and the GUID cannot be learned
    without asking SharePoint, so that page itself is framed with the `embed` parameter added.
    """
    path = [unquote(part) for part in path]
    if (
        len(path) < 3
        or [part.lower() for part in path[-3:-1]] != ["_layouts", "15"]
        or not all(_path_part(part) for part in path)
    ):
        return None
    site = "/".join(quote(part, safe="") for part in path[:-3])
    base = f"https://{host}/{site + '/' if site else ''}_layouts/15/"
    if path[-1].lower() == "embed.aspx":
        unique_id = query.get("UniqueId", query.get("uniqueid", [""]))[0]
        if not _is_guid(unique_id):
            return None
        return base + "embed.aspx?" + urlencode({"UniqueId": unique_id, "embed": SHAREPOINT_EMBED_OPTIONS})
    if path[-1].lower() == "stream.aspx":
        file_path = query.get("id", [""])[0]
        if not file_path.startswith("/") or len(file_path) > 1000 or not file_path.isprintable():
            return None
        return base + "stream.aspx?" + urlencode({"id": file_path, "embed": SHAREPOINT_EMBED_OPTIONS})
    return None


def _path_part(part: str) -> bool:
    return 0 < len(part) <= 100 and part.isprintable() and part not in {".", ".."} and "/" not in part


def _is_guid(value: str) -> bool:
    groups = value.strip("{}").split("-")
    return [len(g) for g in groups] == [8, 4, 4, 4, 12] and all(
        set(g.lower()) <= set("0123456789abcdef") for g in groups
    )


def _stream_classic(path: list[str]) -> str | None:
    if len(path) == 2 and path[0] == "video" and _token(path[1], 8, 64):
        return f"https://web.microsoftstream.com/embed/video/{path[1]}?autoplay=false&showinfo=true"
    return None


def video_for(url: str) -> Video | None:
    """The player for a link to a video on a supported site, or None for anything else (any other host,
    scheme, a look-alike host, a malformed address)."""
    url = (url or "").strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1]
    if not url or len(url) > MAX_URL or not url.isprintable() or " " in url or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or parts.username or parts.password or port not in (None, 443):
        return None
    host = (parts.hostname or "").rstrip(".")
    path = [part for part in parts.path.split("/") if part]
    query = parse_qs(parts.query, max_num_fields=20)
    if host in YOUTUBE_HOSTS or host == "youtu.be":
        return _built("YouTube", _youtube(host, path, query), url)
    if host in VIMEO_HOSTS:
        return _built("Vimeo", _vimeo(host, path, query), url)
    if host in LOOM_HOSTS:
        return _built("Loom", _loom(path), url)
    if host == "web.microsoftstream.com":
        return _built("Microsoft Stream", _stream_classic(path), url)
    if _sharepoint_host(host):
        return _built("Microsoft Stream", _sharepoint(host, path, query), url)
    return None


def _built(provider: str, src: str | None, link: str) -> Video | None:
    return Video(provider, src, link) if src else None


def player_html(video: Video, number: int = 1, total: int = 1) -> str:
    """The embedded player: a 16:9 box (CSS class, no inline style), the iframe, and a link to the original.
    Its title names the site and, when a page has several, which one it is (each frame's name is unique)."""
    title = f"{video.provider} video" + (f" {number} of {total}" if total > 1 else "")
    return (
        f'<figure class="video-embed"><div class="video-frame">'
        f'<iframe src="{escape(video.src)}" title="{escape(title)}" loading="lazy" allow="{ALLOW}" '
        f'referrerpolicy="strict-origin-when-cross-origin" sandbox="{SANDBOX}" allowfullscreen></iframe>'
        f'</div><figcaption><a href="{escape(video.link)}" rel="noopener noreferrer">'
        f"Open the video on {escape(video.provider)}</a></figcaption></figure>"
    )


class _VideoLines(BlockProcessor):
    """A block that is one line holding only a supported video link becomes a placeholder paragraph."""

    def __init__(self, parser, extension: VideoExtension):
        super().__init__(parser)
        self.extension = extension

    def test(self, parent: etree.Element, block: str) -> bool:
        line = block.strip()
        # A link that is a list item stays a link: lists are steps and references, not players.
        return parent.tag != "li" and "\n" not in line and video_for(line) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        video = video_for(blocks.pop(0).strip())
        paragraph = etree.SubElement(parent, "p")
        paragraph.text = self.extension.placeholder(video)


class VideoExtension(Extension):
    """Python-Markdown extension: collects the videos of one conversion; `insert_players` adds them after
    sanitizing."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.videos: list[Video] = []
        self.nonce = secrets.token_hex(8)

    def extendMarkdown(self, markdown) -> None:  # noqa: N802 - Python-Markdown's API name
        markdown.registerExtension(self)
        # Just before the paragraph processor (10): headings, lists, quotes and code blocks have had their turn.
        markdown.parser.blockprocessors.register(_VideoLines(markdown.parser, self), "kms_video", 12)

    def reset(self) -> None:
        self.videos = []
        self.nonce = secrets.token_hex(8)  # a fresh secret per page: no text can forge a placeholder

    def placeholder(self, video: Video) -> str:
        self.videos.append(video)
        return f"kms-video-{self.nonce}-{len(self.videos) - 1}"

    def insert_players(self, html: str) -> str:
        """Replace each placeholder paragraph of the last conversion in sanitized HTML with its player."""
        for number, video in enumerate(self.videos):
            html = html.replace(
                f"<p>kms-video-{self.nonce}-{number}</p>", player_html(video, number + 1, len(self.videos)), 1
            )
        return html
