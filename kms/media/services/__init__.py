"""Media use cases: upload, open, link and clean up files. Plain values and an actor in; no Flask."""

from kms.media.services.access import (
    Served,
    attachments_for,
    may_upload,
    open_media,
    record_download,
    remove_attachment,
)
from kms.media.services.links import link_references, references, sweep
from kms.media.services.uploads import (
    TooLarge,
    clean_alt,
    limit_message,
    markdown_of,
    page_url_of,
    safe_name,
    upload,
    url_of,
)

__all__ = [
    "Served",
    "TooLarge",
    "attachments_for",
    "clean_alt",
    "limit_message",
    "link_references",
    "markdown_of",
    "may_upload",
    "open_media",
    "page_url_of",
    "record_download",
    "references",
    "remove_attachment",
    "safe_name",
    "sweep",
    "upload",
    "url_of",
]
