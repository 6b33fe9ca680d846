"""A video link on a line of its own plays in the page; anything else stays text or a link, and the CSP lets
frames come only from the video sites kms embeds."""

from __future__ import annotations

import re

import pytest

from kms import markdown
from kms.auth.models import Role
from kms.markdown_video import video_for
from tests.conftest import login

YT = "dQw4w9WgXcQ"
GUID = "1f2fe1d6-a0b3-462a-8e6f-0f05d3ef9366"


def frames(html: str) -> list[str]:
    """The src of each iframe in the HTML."""
    return re.findall(r'<iframe src="([^"]*)"', html)


@pytest.mark.parametrize(
    "link, src",
    [
        (f"https://www.youtube.com/watch?v={YT}", f"https://www.youtube-nocookie.com/embed/{YT}"),
        (f"https://youtube.com/watch?feature=share&v={YT}", f"https://www.youtube-nocookie.com/embed/{YT}"),
        (f"https://m.youtube.com/watch?v={YT}&t=95", f"https://www.youtube-nocookie.com/embed/{YT}?start=95"),
        (f"https://youtu.be/{YT}", f"https://www.youtube-nocookie.com/embed/{YT}"),
        (f"https://youtu.be/{YT}?t=1m30s", f"https://www.youtube-nocookie.com/embed/{YT}?start=90"),
        (f"https://www.youtube.com/shorts/{YT}", f"https://www.youtube-nocookie.com/embed/{YT}"),
        (
            f"https://www.youtube.com/embed/{YT}?start=12",
            f"https://www.youtube-nocookie.com/embed/{YT}?start=12",
        ),
        (f"<https://youtu.be/{YT}>", f"https://www.youtube-nocookie.com/embed/{YT}"),
        ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871?dnt=1"),
        (
            "https://vimeo.com/76979871/ab12cd34ef",
            "https://player.vimeo.com/video/76979871?dnt=1&amp;h=ab12cd34ef",
        ),
        ("https://player.vimeo.com/video/76979871", "https://player.vimeo.com/video/76979871?dnt=1"),
        ("https://vimeo.com/channels/staffpicks/76979871", "https://player.vimeo.com/video/76979871?dnt=1"),
        (
            "https://www.loom.com/share/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "https://www.loom.com/embed/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        ),
        (
            "https://loom.com/embed/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "https://www.loom.com/embed/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        ),
        (
            "https://web.microsoftstream.com/video/708fb24d-a8c2-4b91-946e-7773ff13acb5",
            "https://web.microsoftstream.com/embed/video/708fb24d-a8c2-4b91-946e-7773ff13acb5?autoplay=false&amp;showinfo=true",
        ),
        (
            f"https://contoso.sharepoint.com/sites/CS/_layouts/15/embed.aspx?UniqueId={GUID}&referrer=StreamWebApp",
            f"https://contoso.sharepoint.com/sites/CS/_layouts/15/embed.aspx?UniqueId={GUID}"
            "&amp;embed=%7B%22ust%22%3Atrue%2C%22hv%22%3A%22CopyEmbedCode%22%7D",
        ),
        (
            "https://contoso-my.sharepoint.com/personal/ann_contoso_com/_layouts/15/stream.aspx"
            "?id=%2Fpersonal%2Fann_contoso_com%2FDocuments%2FRecordings%2Fdemo.mp4",
            "https://contoso-my.sharepoint.com/personal/ann_contoso_com/_layouts/15/stream.aspx"
            "?id=%2Fpersonal%2Fann_contoso_com%2FDocuments%2FRecordings%2Fdemo.mp4"
            "&amp;embed=%7B%22ust%22%3Atrue%2C%22hv%22%3A%22CopyEmbedCode%22%7D",
        ),
    ],
)
def test_each_providers_link_on_its_own_line_plays_from_its_embed_address(link, src):
    html = markdown.render(f"Watch this first:\n\n{link}\n\nThen reply to the customer.")
    assert frames(html) == [src]
    assert "Watch this first:" in html and "Then reply to the customer." in html


def test_the_player_is_lazy_sandboxed_captioned_and_sized_by_css():
    html = markdown.render(f"https://youtu.be/{YT}")
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    assert 'title="YouTube video"' in frame and 'loading="lazy"' in frame
    assert 'allow="fullscreen; picture-in-picture"' in frame
    assert 'referrerpolicy="strict-origin-when-cross-origin"' in frame
    sandbox = re.search(r'sandbox="([^"]*)"', frame).group(1).split()
    assert (
        "allow-scripts" in sandbox and "allow-top-navigation" not in sandbox and "allow-forms" not in sandbox
    )
    assert "style=" not in html
    assert '<figure class="video-embed"><div class="video-frame">' in html
    assert f'<a href="https://youtu.be/{YT}"' in html and "Open the video on YouTube" in html


def test_several_players_on_a_page_have_different_titles():
    html = markdown.render(f"https://youtu.be/{YT}\n\nhttps://vimeo.com/76979871\n\nhttps://youtu.be/{YT}")
    titles = re.findall(r'<iframe[^>]*title="([^"]*)"', html)
    assert titles == ["YouTube video 1 of 3", "Vimeo video 2 of 3", "YouTube video 3 of 3"]


@pytest.mark.parametrize(
    "text",
    [
        f"See https://youtu.be/{YT} before the call.",
        f"Before the call:\nhttps://youtu.be/{YT}",
        f"[the walkthrough](https://youtu.be/{YT})",
        f"- https://youtu.be/{YT}",
        f"    https://youtu.be/{YT}",
        f"```\nhttps://youtu.be/{YT}\n```",
        f"`https://youtu.be/{YT}`",
    ],
)
def test_a_link_inside_text_a_list_or_code_is_not_a_player(text):
    html = markdown.render(text)
    assert "<iframe" not in html
    assert YT in html


@pytest.mark.parametrize(
    "link",
    [
        f"javascript:alert(1)//youtu.be/{YT}",
        f"http://youtu.be/{YT}",
        f"https://youtube.com.evil.test/watch?v={YT}",
        f"https://evilyoutube.com/watch?v={YT}",
        f"https://youtu.be.evil.test/{YT}",
        f"https://www.youtube.com@evil.test/watch?v={YT}",
        f"https://user:pw@www.youtube.com/watch?v={YT}",
        f"https://www.youtube.com:8443/watch?v={YT}",
        "https://www.youtube.com/watch?v=short",
        'https://www.youtube.com/watch?v=dQw4w9WgXc"',
        "https://vimeo.com.evil.test/76979871",
        "https://notvimeo.com/76979871",
        "https://vimeo.com/76979871/<script>",
        "https://www.loom.com.evil.test/share/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "https://www.loom.com/share/../../evil",
        "https://sharepoint.com/sites/x/_layouts/15/embed.aspx?UniqueId=" + GUID,
        "https://contoso.sharepoint.com.evil.test/sites/x/_layouts/15/embed.aspx?UniqueId=" + GUID,
        "https://evil.test/contoso.sharepoint.com/_layouts/15/embed.aspx?UniqueId=" + GUID,
        "https://contoso.sharepoint.com/sites/x/_layouts/15/embed.aspx?UniqueId=not-a-guid",
        "https://contoso.sharepoint.com/sites/x/_layouts/15/start.aspx",
        "https://web.microsoftstream.com.evil.test/video/708fb24d-a8c2-4b91-946e-7773ff13acb5",
        "https://example.com/video.mp4",
    ],
)
def test_other_schemes_hosts_and_look_alike_hosts_are_never_embedded(link):
    assert video_for(link) is None
    assert "<iframe" not in markdown.render(link)


@pytest.mark.parametrize(
    "raw",
    [
        f'<iframe src="https://www.youtube-nocookie.com/embed/{YT}"></iframe>',
        '<p><iframe src="https://player.vimeo.com/video/1" sandbox="allow-top-navigation"></iframe></p>',
        '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
        '<figure class="video-embed"><div class="video-frame"><iframe src="https://evil.test"></iframe></div></figure>',
    ],
)
def test_iframes_written_in_the_markdown_are_still_stripped(raw):
    html = markdown.render(f"Intro\n\n{raw}\n\nOutro")
    assert "<iframe" not in html


def test_a_placeholder_typed_by_an_author_cannot_become_a_player():
    converter_text = f"https://youtu.be/{YT}"
    html = markdown.render(converter_text)
    assert len(frames(html)) == 1
    # Whatever an author types that looks like the internal placeholder stays text.
    forged = markdown.render("kms-video-0000000000000000-0\n\n<p>kms-video-0-0</p>")
    assert "<iframe" not in forged


def test_an_overlong_link_stays_text():
    hostile = "https://www.youtube.com/watch?" + "v=" * 100_000
    assert "<iframe" not in markdown.render(hostile)


def test_an_article_page_plays_the_video_and_the_csp_allows_exactly_the_video_frames(
    client, make_user, make_article
):
    author = make_user(Role.AUTHOR)
    article = make_article("Walkthrough", f"## Setup\n\nhttps://youtu.be/{YT}\n\nDone.", actor=author)
    login(client, make_user(Role.MEMBER))
    response = client.get(f"/handbook/articles/{article.slug}")
    assert frames(response.get_data(as_text=True)) == [f"https://www.youtube-nocookie.com/embed/{YT}"]
    directives = dict(
        part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert directives["frame-src"].split() == [
        "https://www.youtube-nocookie.com",
        "https://player.vimeo.com",
        "https://www.loom.com",
        "https://*.sharepoint.com",
        "https://web.microsoftstream.com",
    ]
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'" and directives["default-src"] == "'self'"


def test_lesson_editors_who_cannot_write_articles_still_get_the_editor_preview(client, login_as):
    login_as(Role.MANAGER)  # managers edit lessons and quiz explanations, not handbook articles
    response = client.post("/handbook/preview", data={"body": f"**Watch**\n\nhttps://youtu.be/{YT}"})
    assert response.status_code == 200
    assert "<strong>Watch</strong>" in response.json["html"] and frames(response.json["html"])
