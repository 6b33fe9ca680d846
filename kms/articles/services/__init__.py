"""Handbook use cases. Split by topic; import from here: `from kms.articles import services`."""
from kms.articles.services._common import (
                                           DEFAULT_CATEGORIES,
                                           category_names,
                                           get_article,
                                           get_process,
                                           list_categories,
                                           list_owners,
                                           process_named,
                                           processes_named,
)
from kms.articles.services.content import export_content, handbook_is_empty, import_content, parse_folder
from kms.articles.services.coverage import (
                                           Bucket,
                                           Coverage,
                                           coverage,
                                           document_next,
                                           my_queue,
                                           record_snapshot,
                                           stale_articles,
                                           stale_count,
                                           trend,
                                           trend_chart,
)
from kms.articles.services.demo import seed_demo
from kms.articles.services.editing import (
                                           ArticleFields,
                                           EditConflict,
                                           can_edit,
                                           create_article,
                                           get_article_for_editing,
                                           get_template,
                                           list_articles,
                                           list_templates,
                                           processes_for_linking,
                                           reader_text,
                                           recently_updated,
                                           resolve_slug,
                                           save_article,
                                           visible_to,
)
from kms.articles.services.history import (
                                           DiffLine,
                                           approve_revision,
                                           diff_revisions,
                                           diff_texts,
                                           get_revision,
                                           list_revisions,
                                           needs_review_for,
                                           pending_count,
                                           pending_reviews,
                                           reject_revision,
                                           restore_revision,
                                           review_items,
)
from kms.articles.services.overview import ArticlePage, HomeSummary, article_page, home_summary
from kms.articles.services.processes import (
                                           MANUAL_STATUSES,
                                           ProcessFields,
                                           article_count_by_category,
                                           create_process,
                                           list_processes,
                                           reassign_process,
                                           reinstate_process,
                                           retire_process,
                                           save_category,
                                           update_process,
)
from kms.articles.services.quality import (
                                           flag_article,
                                           flags_for_owner,
                                           mark_verified,
                                           open_flag_count,
                                           open_flags,
                                           resolve_flag,
                                           verification_label,
)
from kms.articles.services.rendering import article_html

__all__ = [
    "article_html",
    "ArticlePage", "HomeSummary", "article_page", "home_summary", "article_count_by_category", "needs_review_for", "review_items",
    "DEFAULT_CATEGORIES", "ArticleFields", "Bucket", "Coverage", "DiffLine", "EditConflict", "MANUAL_STATUSES",
    "ProcessFields", "approve_revision", "can_edit", "category_names", "coverage", "create_article",
    "create_process", "diff_revisions", "diff_texts", "document_next", "export_content", "flag_article",
    "flags_for_owner", "get_article", "get_article_for_editing", "get_process", "get_revision", "get_template",
    "handbook_is_empty", "import_content", "list_articles", "list_categories", "list_owners", "list_processes",
    "list_revisions", "list_templates", "mark_verified", "my_queue", "open_flag_count", "open_flags",
    "parse_folder", "pending_count", "pending_reviews", "processes_for_linking", "reader_text",
    "reassign_process", "recently_updated", "record_snapshot", "reinstate_process", "reject_revision",
    "resolve_flag", "resolve_slug", "restore_revision", "retire_process", "save_article", "save_category",
    "seed_demo", "stale_articles", "stale_count", "trend", "trend_chart", "update_process", "verification_label",
    "visible_to",
]
