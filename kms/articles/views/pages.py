"""Handbook pages: home, article, editor with preview, history and diffs, verification, flags, reviews."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from kms import markdown
from kms.articles import services
from kms.articles.forms import ArticleForm, ConfirmForm, FlagForm, RejectForm, ResolveFlagForm, RestoreForm
from kms.articles.models import ArticleStatus, RevisionState
from kms.articles.views import bp
from kms.articles.views.article_page import article_page_html, generation_key, kept_article_page
from kms.articles.views.common import coverage_target, field_error, owner_choices
from kms.auth.permissions import requires
from kms.errors import Invalid
from kms.extensions import unit_of_work, utcnow
from kms.web import id_arg, page_arg


@bp.get("/handbook/")
@requires("handbook.read")
def index():
    summary = services.home_summary(viewer=current_user, target=coverage_target())
    return render_template("articles/index.html", s=summary, cov=summary.coverage, confirm=ConfirmForm())


@bp.get("/handbook/articles")
@requires("handbook.read")
def browse():
    page = page_arg()
    filters = {
        key: (request.args.get(key) or "").strip() or None
        for key in ("category", "tag", "status", "language")
    }
    if filters["status"] not in {None, *(s.value for s in ArticleStatus)}:
        filters["status"] = None
    rows, total = services.list_articles(viewer=current_user, limit=50, offset=(page - 1) * 50, **filters)
    return render_template(
        "articles/browse.html",
        articles=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // 50)),
        filters=filters,
        categories=services.category_names(),
    )


@bp.get("/handbook/articles/<slug>")
@requires("handbook.read")
def show(slug: str):
    key = generation_key(slug)  # read before the page's statement: a page kept under it is never older
    kept = kept_article_page(key)
    if kept is not None:
        return kept
    return _article_response(slug, key=key)


def _article_response(
    slug: str, flag_comment: str = "", flag_error: str | None = None, key: tuple | None = None
):
    now = utcnow()  # one clock for the page's verification label and for how long it is kept
    page, moved_to = services.article_page(slug, viewer=current_user, now=now)
    if page is None:
        return redirect(url_for("articles.show", slug=moved_to), 301)
    return article_page_html(page, flag_comment, flag_error, key, now), 400 if flag_error else 200


def _editor_choices(form: ArticleForm, article_id: int | None, owner_id: int | None = None) -> None:
    form.body.render_kw = {
        "class": "editor",
        "data-preview-url": url_for("articles.preview"),
        "data-preview-target": "#preview",
        "spellcheck": "true",
    }
    form.category.choices = [(name, name) for name in services.category_names()]
    form.owner_id.choices = owner_choices(services.list_owners(keep=owner_id))
    form.process_id.choices = [("", "— no process —")] + [
        (p.id, f"{p.name} ({p.frequency}/month)") for p in services.processes_for_linking(article_id)
    ]


def _fields(form: ArticleForm) -> services.ArticleFields:
    return services.ArticleFields(
        title=form.title.data,
        body=form.body.data or "",
        category=form.category.data,
        status=form.status.data,
        tags=form.tags.data or "",
        language=form.language.data,
        slug=form.slug.data or "",
        owner_id=form.owner_id.data,
        process_id=form.process_id.data,
        verify_interval_days=form.verify_interval_days.data,
        reason=form.reason.data or "",
    )


def _saved_message(article) -> str:
    if services.needs_review_for(article, current_user):
        return (
            "Saved. Your change waits for review by another author or a manager; readers see the "
            "published version until then."
        )
    return f"Saved “{article.title}”."


@bp.route("/handbook/new", methods=["GET", "POST"])
@requires("handbook.write")
def new():
    form = ArticleForm()
    _editor_choices(form, None)
    if request.method == "GET":
        form.owner_id.data = current_user.id
        template = services.get_template(request.args.get("template", ""))
        if template is not None:
            form.body.data = template.body
        process_id = id_arg("process")
        process = next((p for p in services.processes_for_linking(None) if p.id == process_id), None)
        if process is not None:
            form.title.data, form.category.data, form.process_id.data = (
                process.name,
                process.category,
                process.id,
            )
            # A new article gets a new owner: the process's only while that person can still own things.
            form.owner_id.data = next(
                (u.id for u in services.list_owners() if u.id == process.owner_id), current_user.id
            )
    if form.validate_on_submit():
        try:
            with unit_of_work():
                article = services.create_article(_fields(form), actor=current_user)
        except Invalid as error:
            field_error(form, error)
        else:
            flash(_saved_message(article), "success")
            return redirect(url_for("articles.show", slug=article.slug))
    return render_template(
        "articles/edit.html", form=form, article=None, templates=services.list_templates(), conflict=None
    ), 400 if request.method == "POST" else 200


@bp.route("/handbook/articles/<slug>/edit", methods=["GET", "POST"])
@requires("handbook.write")
def edit(slug: str):
    article = services.get_article_for_editing(slug, actor=current_user)
    form = ArticleForm(obj=article if request.method == "GET" else None)
    _editor_choices(form, article.id, article.owner_id)
    if request.method == "GET":
        form.tags.data = ", ".join(article.tags)
        form.status.data = article.status.value
        form.base_version.data = article.version
    conflict, status = None, 200
    if form.validate_on_submit():
        try:
            base_version = form.base_version.data or 0
            with unit_of_work():
                services.save_article(
                    article.id, _fields(form), base_version=base_version, actor=current_user
                )
        except services.EditConflict as error:
            # Keep the user's text in the editor; the next save is made against the version they have now seen.
            conflict = {
                "version": error.current_version,
                "title": error.current_title,
                "body": error.current_body,
                "diff": services.diff_texts(error.current_body, form.body.data),
            }
            form.base_version.data = error.current_version
            status = 409
        except Invalid as error:
            field_error(form, error)
            status = 400
        else:
            article = services.get_article(article.id)
            flash(_saved_message(article), "success")
            return redirect(url_for("articles.show", slug=article.slug))
    elif request.method == "POST":
        status = 400
    return render_template(
        "articles/edit.html", form=form, article=article, templates=[], conflict=conflict
    ), status


@bp.post("/handbook/preview")
@requires("markdown.preview")
def preview():
    return jsonify(html=markdown.render(request.form.get("body", "")))


def _visible_article(slug: str):
    article, moved_to = services.resolve_slug(slug, viewer=current_user)
    if article is None:
        abort(404)  # old addresses redirect on the article page only; here a stale link is simply gone
    return article


def _visible_revisions(article):
    revisions = services.list_revisions(article.id)
    if services.can_edit(current_user):
        return revisions
    return [r for r in revisions if r.state == RevisionState.PUBLISHED]


@bp.get("/handbook/articles/<slug>/history")
@requires("handbook.read")
def history(slug: str):
    article = _visible_article(slug)
    return render_template(
        "articles/history.html",
        article=article,
        revisions=_visible_revisions(article),
        restore_form=RestoreForm(base_version=article.version),
    )


@bp.get("/handbook/articles/<slug>/diff")
@requires("handbook.read")
def diff(slug: str):
    article = _visible_article(slug)
    revisions = _visible_revisions(article)
    numbers = [r.number for r in revisions]
    if not numbers:
        abort(404)
    new = id_arg("to") or numbers[0]
    old = id_arg("from") or (numbers[1] if len(numbers) > 1 else numbers[0])
    if old not in numbers or new not in numbers:
        abort(404)
    before, after, lines = services.diff_revisions(article.id, old, new)
    return render_template(
        "articles/diff.html", article=article, before=before, after=after, lines=lines, revisions=revisions
    )


@bp.get("/handbook/articles/<slug>/revisions/<int:number>")
@requires("handbook.read")
def revision(slug: str, number: int):
    article = _visible_article(slug)
    revision = services.get_revision(article.id, number)
    if revision.state != RevisionState.PUBLISHED and not services.can_edit(current_user):
        abort(404)
    return render_template(
        "articles/revision.html",
        article=article,
        revision=revision,
        restore_form=RestoreForm(base_version=article.version),
    )


@bp.post("/handbook/articles/<slug>/revisions/<int:number>/restore")
@requires("handbook.write")
def restore(slug: str, number: int):
    article = services.get_article_for_editing(slug, actor=current_user)
    form = RestoreForm()
    if not form.validate_on_submit():
        abort(400)  # the flashed message names the unreadable field
    try:
        with unit_of_work():
            revision = services.restore_revision(
                article.id, number, base_version=form.base_version.data, actor=current_user
            )
    except services.EditConflict:
        flash(
            "Someone saved this article a moment ago. Look at the newest version, then restore again.",
            "error",
        )
        return redirect(url_for("articles.history", slug=slug)), 303
    flash(f"Restored revision {number} as revision {revision.number}.", "success")
    return redirect(url_for("articles.history", slug=article.slug))


@bp.post("/handbook/articles/<slug>/verify")
@requires("handbook.write")
def verify(slug: str):
    article = services.get_article_for_editing(slug, actor=current_user)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        services.mark_verified(article.id, actor=current_user)
    flash(f"Marked as verified. Next review in {article.verify_interval_days} days.", "success")
    return redirect(url_for("articles.show", slug=slug))


@bp.post("/handbook/articles/<slug>/flag")
@requires("handbook.flag")
def flag(slug: str):
    article = _visible_article(slug)
    form = FlagForm()
    error = None
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.flag_article(article.id, form.comment.data, actor=current_user)
        except Invalid as problem:
            error = problem.message
        else:
            flash(
                "Thanks. The owner sees your flag, and readers see a warning until it is resolved.", "success"
            )
            return redirect(url_for("articles.show", slug=slug))
    else:
        error = "Say what is wrong or outdated (at most 2,000 characters)."
    # The page again, with the comment as typed and the problem next to it: nothing the reader wrote is lost.
    return _article_response(article.slug, flag_comment=form.comment.data or "", flag_error=error)


@bp.get("/handbook/flags")
@requires("handbook.write")
def flags():
    return render_template(
        "articles/flags.html",
        flags=services.flags_for_owner(current_user, limit=200),
        resolve_form=ResolveFlagForm(),
    )


@bp.post("/handbook/flags/<int:flag_id>/resolve")
@requires("handbook.write")
def resolve_flag(flag_id: int):
    form = ResolveFlagForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work():
        flag = services.resolve_flag(flag_id, form.resolution.data or "", actor=current_user)
    flash("Flag resolved; readers no longer see the warning.", "success")
    target = request.form.get("next") == "article"
    return redirect(url_for("articles.show", slug=flag.article.slug) if target else url_for("articles.flags"))


@bp.get("/handbook/stale")
@requires("handbook.read")
def stale():
    now = utcnow()
    return render_template(
        "articles/stale.html",
        articles=services.stale_articles(now, limit=500),
        now=now,
        label=services.verification_label,
    )


@bp.get("/handbook/reviews")
@requires("handbook.review")
def reviews():
    pending = services.pending_reviews()
    return render_template(
        "articles/reviews.html",
        items=services.review_items(pending),
        reject_form=RejectForm(),
        confirm=ConfirmForm(),
    )


@bp.post("/handbook/reviews/<int:revision_id>/approve")
@requires("handbook.review")
def approve(revision_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            revision = services.approve_revision(revision_id, actor=current_user)
    except Invalid as error:
        flash(error.message, "error")
    else:
        flash(f"Published revision {revision.number}. Readers see it now.", "success")
    return redirect(url_for("articles.reviews"))


@bp.post("/handbook/reviews/<int:revision_id>/reject")
@requires("handbook.review")
def reject(revision_id: int):
    form = RejectForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            revision = services.reject_revision(
                revision_id, actor=current_user, reason=form.reason.data or ""
            )
    except Invalid as error:
        flash(error.message, "error")
    else:
        flash(f"Rejected revision {revision.number}.", "success")
    return redirect(url_for("articles.reviews"))
