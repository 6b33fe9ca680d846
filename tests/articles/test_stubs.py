"""Real content: an untouched template does not count as documentation, whatever is done with it."""

from __future__ import annotations

from kms.articles import services
from kms.articles.models import ArticleTemplate, ProcessStatus
from kms.auth.models import Role
from kms.extensions import db
from tests.articles.conftest import REAL_TEXT, fields_of

TEMPLATE = (
    "## When this applies\n\n1. …\n2. …\n\n## Steps\n\n1. …\n2. …\n3. …\n\n"
    "## What to say\n\n> …\n\n## When to escalate\n\n- …\n\n## Related processes\n\n- …\n"
)


def test_publishing_an_untouched_template_does_not_move_the_bar_and_shows_a_stub(
    client, login_as, make_process, make_article
):
    author = login_as(Role.AUTHOR)
    db.session.add(ArticleTemplate(key="standard-process", name="Standard process", body=TEMPLATE))
    db.session.commit()
    process = make_process("Refund request", frequency=40)
    article = make_article("Refund request", TEMPLATE, actor=author, process=process)
    services.mark_verified(article.id, actor=author)  # verifying a stub documents nothing either
    assert services.coverage().overall.documented == 0
    assert services.get_process(process.id).status == ProcessStatus.DRAFTING
    home = client.get("/handbook/").get_data(as_text=True)
    assert "0 of 1 processes documented" in home
    assert "stub to finish" in home.split("Document next")[1]
    page = client.get(f"/handbook/articles/{article.slug}").get_data(as_text=True)
    assert "Stub — this article has 0 words of its own" in page

    services.save_article(
        article.id,
        fields_of(article, body=TEMPLATE.replace("1. …\n2. …\n3. …", REAL_TEXT)),
        base_version=article.version,
        actor=author,
    )
    assert services.coverage().overall.documented == 1
    assert services.get_process(process.id).status == ProcessStatus.DOCUMENTED
    assert "1 of 1 processes documented" in client.get("/handbook/").get_data(as_text=True)
    assert "Stub —" not in client.get(f"/handbook/articles/{article.slug}").get_data(as_text=True)


def test_a_few_words_added_to_the_template_are_still_a_stub(make_process, make_article):
    db.session.add(ArticleTemplate(key="standard-process", name="Standard process", body=TEMPLATE))
    db.session.commit()
    process = make_process("Invoice question")
    make_article(
        "Invoice question", TEMPLATE.replace("1. …\n2. …\n3. …", "1. Open the invoice."), process=process
    )
    assert services.coverage().overall.documented == 0
    assert [p.name for p in services.document_next()] == ["Invoice question"]


def test_text_in_a_script_without_spaces_counts_its_characters_as_words():
    from kms.articles.services.substance import MIN_OWN_WORDS, own_words

    chinese = "客户申请退款时，先在账单系统中打开订单，核对购买日期。三十天内的订单可直接全额退款，无需询问原因；超过三十天的订单需组长批准。"
    assert own_words(chinese, frozenset()) >= MIN_OWN_WORDS
    assert own_words("1. …\n2. …", frozenset()) == 0
