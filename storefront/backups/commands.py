import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from . import services


def _default_folder() -> Path:
    return Path(current_app.instance_path) / "backups"


@click.command("backup")
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the archive (default: instance/backups).")
@with_appcontext
def backup(folder: Path | None):
    """Back up the database and the media folder into one checked .tar.gz archive."""
    folder = folder or _default_folder()
    try:
        path, manifest = services.create_backup(folder, media_progress=lambda count: click.progressbar(
            length=count, label=_("Menyalin foto")))
    except services.BackupRefused as refused:
        raise click.ClickException(str(refused)) from None
    counts = manifest["counts"]
    click.echo(_("Cadangan selesai: %(path)s (%(products)d produk, %(orders)d pesanan, "
                 "%(media)d berkas foto, revisi %(revision)s).", path=str(path),
                 products=counts["products"], orders=counts["orders"],
                 media=counts["media_files"], revision=manifest["alembic_revision"] or "-"))


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore(archive: Path, yes: bool):
    """Replace the database and add the media files from a backup archive."""
    with tempfile.TemporaryDirectory(prefix="gerai-restore-") as staging:
        try:
            unpacked = services.unpack(archive, Path(staging))
        except services.BackupRefused as refused:
            raise click.ClickException(str(refused)) from None
        manifest = unpacked.manifest
        counts = manifest["counts"]
        click.echo(_("Arsip %(path)s dari %(created)s: %(products)d produk, %(orders)d pesanan, "
                     "%(media)d berkas foto; checksum cocok.", path=str(archive),
                     created=manifest["created_at"], products=counts["products"],
                     orders=counts["orders"], media=len(unpacked.media_files)))
        if not yes:
            click.confirm(_("Basis data sekarang akan DIGANTI isi arsip ini. Lanjutkan?"),
                          abort=True)
        try:
            with click.progressbar(length=len(unpacked.media_files),
                                   label=_("Memulihkan foto")) as bar:
                restored = services.restore(unpacked, progress=bar.update)
        except services.BackupRefused as refused:
            raise click.ClickException(str(refused)) from None
    click.echo(_("Pemulihan selesai: %(products)d produk, %(orders)d pesanan.",
                 products=restored.products, orders=restored.orders))
