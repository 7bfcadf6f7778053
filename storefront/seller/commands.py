"""``flask --app storefront catalogue-import SHOP_SLUG FILE [--dry-run]``: the web import, from a shell."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..catalogue.models import Shop
from ..extensions import db
from . import imports


def _format_counts(counts: dict[str, int]) -> str:
    return (f"{counts['new']} baru, {counts['update']} diperbarui, {counts['same']} tetap, "
            f"{counts['error']} salah")


@click.command("catalogue-import")
@click.argument("shop_slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Periksa saja: tampilkan hasilnya tanpa menyimpan.")
@with_appcontext
def catalogue_import(shop_slug: str, file: Path, dry_run: bool):
    """Import a CSV or XLSX catalogue file into a shop: all rows or none.

    Rows are matched by SKU, so importing the same file again updates instead of
    duplicating. Exits with status 1 when the file or any row has an error.
    """
    shop_id = db.session.scalar(select(Shop.id).where(Shop.slug == shop_slug))
    if shop_id is None:
        raise click.ClickException(f"Toko dengan slug {shop_slug!r} tidak ada.")
    with file.open("rb") as handle:
        data = handle.read(imports.MAX_BYTES + 1)
    try:
        plan = imports.plan_file(data, file.name, shop_id)
    except imports.FileRejected as rejected:
        raise click.ClickException(rejected.message) from None
    for notice in plan.notices:
        click.echo(f"Catatan: {notice}")
    counts = plan.counts
    if not plan.ok:
        for row in plan.error_rows:
            for column, message in row.errors:
                where = f"Baris {row.number}" + (f", kolom {column}" if column else "")
                click.echo(f"{where}: {message}", err=True)
        click.echo(f"{len(plan.rows)} baris: {_format_counts(counts)}. Tidak ada yang diimpor.",
                   err=True)
        click.get_current_context().exit(1)
    if dry_run:
        click.echo(f"Uji coba, tidak ada yang disimpan. {len(plan.rows)} baris: "
                   f"{_format_counts(counts)}.")
        return
    try:
        with click.progressbar(length=len(plan.rows), label="Mengimpor produk") as bar:
            outcome = imports.apply_plan(plan, shop_id, progress=bar.update,
                                         note=f"Impor {file.name} (CLI)")
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        message = getattr(error, "message", None) or f"Impor gagal, tidak ada yang tersimpan: {error}"
        raise click.ClickException(message) from None
    click.echo(f"Selesai. {len(plan.rows)} baris: {outcome.created} baru, {outcome.updated} "
               f"diperbarui, {outcome.unchanged} tetap ({outcome.products_created} produk baru, "
               f"{outcome.products_updated} produk diperbarui).")
