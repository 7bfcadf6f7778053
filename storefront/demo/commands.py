import click
from flask.cli import with_appcontext

from ..indexing import services as indexing
from . import seed as demo


@click.command("seed-demo")
@click.option("--products", default=640, show_default=True, help="How many products to make.")
@click.option("--shops", type=int, default=None, help="How many shops (default: scales with products).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the catalogue already has products.")
@with_appcontext
def seed_demo(products: int, shops: int | None, if_empty: bool):
    """Load demo shops, products and pictures, then build the search index."""
    if not demo.database_is_empty():
        if if_empty:
            click.echo("Katalog sudah berisi produk; data demo tidak dimuat ulang.")
            return
        raise click.ClickException("Database sudah berisi produk. Pakai database kosong.")
    with click.progressbar(length=products, label="Membuat produk demo") as bar:
        made = demo.seed(products=products, shops=shops, progress=bar.update)
    with click.progressbar(length=indexing.visible_count(), label="Mengindeks produk") as bar:
        indexed = indexing.reindex(progress=bar.update)
    click.echo(f"{made['shops']} toko, {made['products']} produk, {indexed} terlihat di pencarian.")
    click.echo(f"Akun demo: pembeli@gerai.test, admin@gerai.test, penjual1@gerai.test "
               f"(kata sandi: {demo.DEMO_PASSWORD})")
