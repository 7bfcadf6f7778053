import click
from flask.cli import with_appcontext

from . import services


@click.command("search-reindex")
@click.option("--if-stale", is_flag=True,
              help="Only when the index does not hold as many products as the database shows.")
@click.option("--queue", "queued", is_flag=True,
              help="Hand it to the task queue's workers instead of waiting here.")
@with_appcontext
def search_reindex(if_stale: bool, queued: bool):
    """Rebuild the search index from the database, with a progress bar."""
    if queued:
        from ..tasks import enqueue

        if not enqueue("reindex_search"):
            raise click.ClickException("Antrean kerja tidak tersedia.")
        click.echo("Pembangunan ulang indeks diserahkan ke worker.")
        return
    total = services.visible_count()
    if if_stale and services.backend().count() == total:
        click.echo(f"Indeks sudah lengkap ({total} produk).")
        return
    with click.progressbar(length=total, label="Mengindeks produk") as bar:
        count = services.reindex(progress=bar.update)
    click.echo(f"{count} produk di indeks.")


@click.command("search-setup")
@with_appcontext
def search_setup():
    """Create the search index and apply its settings (Meilisearch), waiting until done."""
    index = services.backend()
    index.setup()
    click.echo(f"Pengaturan indeks pencarian diterapkan ({index.name}).")


@click.command("search-worker")
@click.option("--once", is_flag=True, hidden=True, help="Kept for old scripts; always once now.")
@with_appcontext
def search_worker(once: bool):
    """Apply what is pending in the search outbox now, then exit (the queue does it
    continuously: ``flask worker``)."""
    click.echo(f"{services.drain_outbox()} perubahan diterapkan.")
