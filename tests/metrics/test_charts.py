"""Server-drawn SVG charts are accessible images, escape data, break lines where nothing was measured."""

from xml.etree import ElementTree

from kms.metrics.charts import Series, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_line_chart_is_an_accessible_image_with_the_benchmark_line():
    svg = line_chart(
        ["W1", "W2", "W3"],
        [Series("Ann <b>", [0.9, None, 0.95])],
        title="CSAT by week",
        desc="Share of good ratings; the dashed line is the team.",
        benchmark=0.88,
        fmt=lambda v: f"{v * 100:.0f}%",
        floor=0,
        ceiling=1,
    )
    root = ElementTree.fromstring(str(svg))  # well-formed XML, data escaped
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "CSAT by week" and "team" in desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "<b>" not in str(svg)
    assert root.find(f".//{SVG}line[@class='target-line']") is not None
    path = root.find(f".//{SVG}path[@class='series-plain']")
    assert path.get("d").count("M") == 2  # the empty week breaks the line
    assert [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")] == [
        "Ann <b>, W1: 90%",
        "Ann <b>, W3: 95%",
    ]


def test_bar_chart_marks_the_viewers_own_bar_and_skips_empty_ones():
    svg = bar_chart(
        [("Ann", 12.0), ("Bob", None), ("Cy", 8.0)], title="Handle", desc="d", benchmark=10.0, highlight="Cy"
    )
    root = ElementTree.fromstring(str(svg))
    rects = list(root.iter(f"{SVG}rect"))
    assert [r.find(f"{SVG}title").text for r in rects] == ["Ann: 12", "Cy: 8"]
    assert rects[1].get("class") == "bar bar-own"
    assert float(rects[0].get("height")) > float(rects[1].get("height"))
