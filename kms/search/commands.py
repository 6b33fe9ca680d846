"""`kms reindex` and `kms search-check`: rebuild the index, or compare it with the database and mend it;
added by search's init_app."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from kms.commands import needs_database
from kms.progress import ProgressReporter
from kms.search import services
from kms.search.indexer import EXTENSION as SEARCH_INDEX


@click.command("reindex")
@with_appcontext
@needs_database
def reindex_command() -> None:
    """Rebuild the search index into a fresh directory and swap it in; searches keep working meanwhile."""
    with ProgressReporter("reindex") as progress:
        count, seconds = services.reindex(current_app.extensions[SEARCH_INDEX], progress=progress)
    click.echo(f"Indexed {count} documents in {seconds:.1f} s ({count / max(seconds, 1e-9):.0f} docs/s).")


@click.command("search-check")
@click.option(
    "--fix", is_flag=True, help="Write the missing, extra and stale documents as the database has them."
)
@with_appcontext
@needs_database
def search_check_command(fix: bool) -> None:
    """Compare the search index with the database: missing, extra and stale documents."""
    index = current_app.extensions[SEARCH_INDEX]
    try:
        with ProgressReporter("search-check") as progress:
            drift = services.check_index(index, progress=progress)
    except services.SearchIndexError as error:
        if not fix:
            raise click.ClickException(
                f"The search index cannot be read ({error}); run with --fix."
            ) from None
        with ProgressReporter("reindex") as progress:
            count, seconds = services.reindex(index, progress=progress)
        click.echo(f"Rebuilt the unreadable index: {count} documents in {seconds:.1f} s.")
        return
    click.echo(f"Index: {drift.index_count} documents; database: {drift.database_count}.")
    for label, ids in (("missing", drift.missing), ("extra", drift.extra), ("stale", drift.stale)):
        shown = ", ".join(ids[:20]) + (" …" if len(ids) > 20 else "")
        click.echo(f"  {label}: {len(ids)}" + (f" ({shown})" if ids else ""))
    click.echo(f"  quarantined (could not be indexed): {len(drift.quarantined)}")
    for item in drift.quarantined:
        click.echo(f"    {item.doc_id} after {item.attempts} tries: {item.error}")
    if fix and not (drift.clean and not drift.quarantined):
        click.echo(
            f"Fixed {services.fix_index(index, drift)} documents"
            + (f"; retried {len(drift.quarantined)} quarantined." if drift.quarantined else ".")
        )
    elif not drift.clean:
        raise click.ClickException("The index has drifted; run `kms search-check --fix`.")
    elif drift.quarantined:
        raise click.ClickException(
            "Some documents could not be indexed (errors above): correct them, or run "
            "`kms search-check --fix` to try them again."
        )
    else:
        click.echo("In step.")


COMMANDS = (reindex_command, search_check_command)
