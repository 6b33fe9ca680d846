"""Draw the starter content's diagrams into content/media/ (run again after changing one).

    .venv/bin/python scripts/make_starter_media.py            # diagrams (Pillow only)
    .venv/bin/python scripts/make_starter_media.py --screens  # also screenshots of kms (needs Chromium)

Each file is named as `kms export` names it (<name>-<first 12 hex of its SHA-256>.png) and written without
metadata, so `kms import` keeps it byte for byte. Older versions of a file are removed; the Markdown that uses a
file must be updated by hand when its hash changes (the script prints the new names).
"""
from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT / "content" / "media"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
INK, MUTED, LINE = (28, 37, 54), (85, 95, 110), (120, 130, 145)
BLUE, GREEN, AMBER, RED, GREY = (219, 234, 254), (220, 242, 224), (254, 240, 199), (253, 222, 222), (238, 240, 243)


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(BOLD if bold else FONT, size)


def wrap(draw: ImageDraw.ImageDraw, text: str, face, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=face) <= width:
                line = trial
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def box(draw, xy, text, fill, *, size=15, bold=False, radius=10):
    x0, y0, x1, y1 = xy
    draw.rounded_rectangle(xy, radius=radius, fill=fill, outline=LINE, width=2)
    face = font(size, bold)
    lines = wrap(draw, text, face, x1 - x0 - 20)
    height = len(lines) * (size + 5)
    y = (y0 + y1 - height) / 2
    for line in lines:
        draw.text(((x0 + x1) / 2, y), line, font=face, fill=INK, anchor="ma")
        y += size + 5


def arrow(draw, start, end, label="", *, label_at=0.5):
    draw.line([start, end], fill=LINE, width=3)
    (x0, y0), (x1, y1) = start, end
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    tip = [(x1, y1), (x1 - 12 * ux + 6 * uy, y1 - 12 * uy - 6 * ux), (x1 - 12 * ux - 6 * uy, y1 - 12 * uy + 6 * ux)]
    draw.polygon(tip, fill=LINE)
    if label:
        lx, ly = x0 + (x1 - x0) * label_at, y0 + (y1 - y0) * label_at
        face = font(13, True)
        w = draw.textlength(label, font=face)
        draw.rectangle((lx - w / 2 - 4, ly - 10, lx + w / 2 + 4, ly + 9), fill="white")
        draw.text((lx, ly), label, font=face, fill=MUTED, anchor="mm")


def canvas(width: int, height: int, title: str):
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((24, 18), title, font=font(20, True), fill=INK)
    return image, draw


def refund_decision_tree() -> Image.Image:
    image, draw = canvas(820, 600, "Refund request: who decides")
    questions = ["Open chargeback or payment dispute?", "Duplicate or erroneous charge?",
                 "Annual renewal, asked within 14 days, little or no usage?",
                 "Over 1,000 in account currency, or an outage credit?"]
    outcomes = [("Hand to the billing team (refunding now could pay twice)", RED),
                ("Refund in full to the original payment method (any agent)", GREEN),
                ("Full refund and cancel the subscription (any agent)", GREEN),
                ("Billing team decides, case by case", AMBER)]
    box(draw, (40, 60, 360, 110), "Customer asks for money back", BLUE, bold=True)
    top = 140
    for index, (question, (outcome, colour)) in enumerate(zip(questions, outcomes, strict=True)):
        y = top + index * 105
        arrow(draw, (200, y - 30 if index == 0 else y - 25), (200, y))
        box(draw, (40, y, 360, y + 80), question, GREY)
        arrow(draw, (360, y + 40), (470, y + 40), "yes")
        box(draw, (470, y + 5, 790, y + 75), outcome, colour)
        if index < len(questions) - 1:
            draw.text((212, y + 92), "no", font=font(13, True), fill=MUTED)
    y = top + 4 * 105
    arrow(draw, (200, y - 25), (200, y))
    box(draw, (40, y, 790, y + 30 + 10), "No refund: offer to remove seats at renewal or cancel at period end "
        "(team lead for exceptions)", AMBER)
    return image


def escalation_flow() -> Image.Image:
    image, draw = canvas(820, 420, "Escalating a ticket to tier 2")
    steps = ["Checklist done: account, steps to reproduce, evidence, what you tried",
             "Write the escalation note (internal, from the template)",
             "Move to the tier 2 queue and set the priority honestly",
             "Tell the customer it has moved and when they will hear back"]
    x = 30
    for index, step in enumerate(steps):
        box(draw, (x, 70, x + 170, 190), step, BLUE if index else GREY, size=14)
        if index < len(steps) - 1:
            arrow(draw, (x + 170, 130), (x + 200, 130))
        x += 200
    arrow(draw, (715, 190), (715, 235))
    box(draw, (560, 235, 790, 290), "Stay a follower: learn how tier 2 solves it", GREEN, size=14)
    draw.text((30, 240), "Tier 2 picks up within", font=font(15, True), fill=INK)
    for row, (priority, time, colour) in enumerate((("Urgent", "1 hour", RED), ("High", "4 business hours", AMBER),
                                                   ("Normal", "1 business day", GREEN))):
        y = 270 + row * 42
        box(draw, (30, y, 150, y + 34), priority, colour, size=14, bold=True, radius=6)
        draw.text((165, y + 8), time, font=font(15), fill=INK)
    return image


def triage_matrix() -> Image.Image:
    image, draw = canvas(820, 470, "Ticket triage: priority and first response target")
    columns = ["One user", "One team or workflow", "Many users / whole company"]
    rows = [("No workaround", [("High", "2 h", AMBER), ("High", "2 h", AMBER), ("Urgent", "30 min", RED)]),
            ("Workaround exists", [("Normal", "8 business h", GREEN)] * 3),
            ("Question or request", [("Low", "1 business day", GREY)] * 3)]
    draw.text((440, 62), "Who is affected", font=font(15, True), fill=MUTED, anchor="ma")
    for index, name in enumerate(columns):
        box(draw, (200 + index * 200, 90, 390 + index * 200, 140), name, BLUE, size=14, bold=True, radius=6)
    for r, (name, cells) in enumerate(rows):
        y = 155 + r * 95
        box(draw, (20, y, 190, y + 85), name, BLUE, size=14, bold=True, radius=6)
        for c, (priority, target, colour) in enumerate(cells):
            x = 200 + c * 200
            draw.rounded_rectangle((x, y, x + 190, y + 85), radius=6, fill=colour, outline=LINE, width=2)
            draw.text((x + 95, y + 22), priority, font=font(18, True), fill=INK, anchor="ma")
            draw.text((x + 95, y + 50), f"reply within {target}", font=font(13), fill=INK, anchor="ma")
    draw.text((20, 445), "Several customers reporting the same failure within minutes: stop and alert the on-call "
              "lead.", font=font(13, True), fill=(150, 30, 30))
    return image


def dunning_timeline() -> Image.Image:
    image, draw = canvas(820, 330, "Failed payment: the dunning schedule")
    stops = [(0, "Email, card retried"), (3, "Second email, retry"), (7, "Third email, admin banner; CSM told"),
             (14, "Final email; agent writes personally"), (21, "Read-only; call strategic accounts"),
             (45, "Cancelled: involuntary churn")]
    left, right, axis = 50, 770, 150

    def x_of(day: int) -> float:
        return left + (right - left) * (day / 45) ** 0.6

    draw.line((left, axis, right, axis), fill=LINE, width=4)
    for index, (day, text) in enumerate(stops):
        x = x_of(day)
        colour = RED if day >= 21 else (AMBER if day >= 7 else GREEN)
        draw.ellipse((x - 11, axis - 11, x + 11, axis + 11), fill=colour, outline=LINE, width=2)
        draw.text((x, axis - 42), f"Day {day}", font=font(15, True), fill=INK, anchor="ma")
        y = axis + 28 + (index % 2) * 62
        draw.line((x, axis + 12, x, y), fill=LINE, width=1)
        lines = wrap(draw, text, font(13), 150)
        anchor, dx = ("la", -10) if index == 0 else (("ra", 10) if index == len(stops) - 1 else ("ma", 0))
        for number, line in enumerate(lines):
            draw.text((x + dx, y + 4 + number * 17), line, font=font(13), fill=INK, anchor=anchor)
    return image


def fcr_trend() -> Image.Image:
    image, draw = canvas(820, 400, "First contact resolution by week (example)")
    weeks = [("W1", 78), ("W2", 76), ("W3", 74), ("W4", 69), ("W5", 71), ("W6", 77), ("W7", 79), ("W8", 76)]
    left, bottom, top = 80, 340, 70

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * (value - 50) / 50

    draw.rectangle((left, y_of(65), 790, y_of(50)), fill=RED)
    draw.rectangle((left, y_of(75), 790, y_of(65)), fill=AMBER)
    draw.rectangle((left, y_of(100), 790, y_of(75)), fill=GREEN)
    for value in (50, 65, 75, 100):
        draw.text((left - 10, y_of(value)), f"{value}%", font=font(13), fill=MUTED, anchor="rm")
    for index, (week, value) in enumerate(weeks):
        x = left + 100 + index * 80
        draw.rectangle((x, y_of(value), x + 46, bottom), fill=(59, 102, 176))
        draw.text((x + 23, y_of(value) - 6), f"{value}%", font=font(13, True), fill=INK, anchor="md")
        draw.text((x + 23, bottom + 8), week, font=font(13), fill=INK, anchor="ma")
    draw.line((left, y_of(75), 790, y_of(75)), fill=INK, width=2)
    draw.text((left + 4, y_of(75) - 4), "target 75%", font=font(13, True), fill=INK, anchor="ld")
    draw.text((left, 372), "Green: on target. Amber: look for a pattern. Red: something changed.", font=font(13),
              fill=MUTED)
    return image


def save(stem: str, image: Image.Image) -> str:
    """Write the image as a small palette PNG named like `kms export` names it; return the file name."""
    small = image.quantize(colors=48, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, "PNG", optimize=True)
    data = out.getvalue()
    name = f"{stem}-{hashlib.sha256(data).hexdigest()[:12]}.png"
    MEDIA.mkdir(parents=True, exist_ok=True)
    for old in MEDIA.glob(f"{stem}-????????????.png"):
        if old.name != name:
            old.unlink()
    (MEDIA / name).write_bytes(data)
    print(f"{name}  {len(data) // 1024} KB  {image.width}x{image.height}")
    return name


DIAGRAMS = {"refund-decision-tree": refund_decision_tree, "escalation-flow": escalation_flow,
            "ticket-triage-matrix": triage_matrix, "dunning-schedule": dunning_timeline,
            "fcr-weekly-trend": fcr_trend}


def main(argv: list[str]) -> None:
    for stem, draw in DIAGRAMS.items():
        save(stem, draw())
    if "--screens" in argv:
        for stem, image in screenshots():
            save(stem, image)


def _capture(driver, selector: str, pad: int = 12) -> Image.Image:
    """The part of the page an element covers (plus a margin), as an image."""
    box = driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return [r.left, r.top, r.right, r.bottom];", selector)
    page = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    left, top, right, bottom = (int(v) for v in box)
    return page.crop((max(left - pad, 0), max(top - pad, 0), min(right + pad, page.width),
                      min(bottom + pad, page.height)))


def screenshots() -> list[tuple[str, Image.Image]]:
    """kms's own pages, as a new hire sees them on a demo site: search results, and an article's flag box."""
    import tempfile

    sys.path.insert(0, str(ROOT))
    from kms.demo import create_demo
    from tests.e2e.harness import LiveServer, close_chromium, log_in, new_chromium

    server = LiveServer(instance=Path(tempfile.mkdtemp(prefix="kms-screens-"))).start()
    driver = new_chromium(1000, 1400)
    try:
        with server.app().app_context():
            team = create_demo()
        email, _role, password = next(login for login in team.logins if login[1] == "member")
        log_in(driver, server, email, password)
        driver.get(server.url + "/search?q=locked")
        driver.execute_script("document.documentElement.style.overflow = 'hidden';")
        search = _capture(driver, "main", pad=0)
        search = search.crop((0, 2, search.width, min(search.height, 505)))
        driver.get(server.url + "/handbook/articles/refund-request")
        driver.execute_script("document.documentElement.style.overflow = 'hidden';"
                              "document.querySelector('aside details').open = true;"
                              "document.querySelector('aside details textarea').value = "
                              "'The 14-day rule changed to 30 days last week.';")
        flag = _capture(driver, "aside")
        return [("search-results-locked", search), ("article-flag-box", flag)]
    finally:
        close_chromium(driver)
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
