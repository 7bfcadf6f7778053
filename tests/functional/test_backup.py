"""An operator backs Gerai up at night while shoppers keep buying, and restores it elsewhere.

``flask backup`` copies the database (SQLite online backup API, or pg_dump of the
app's schema) and the media folder into one archive with a manifest of checksums;
``flask restore`` refuses a damaged archive or one from another alembic revision,
and otherwise restores into a fresh database and media folder where every product
and order committed before the backup began is found, with the same picture bytes.
"""

import io
import json
import os
import re
import tarfile
import threading
import time
import uuid

import psycopg
import pytest
from PIL import Image
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import OperationalError

from storefront import create_app
from storefront.backups.services import code_head
from storefront.catalogue.models import Product, ProductImage
from storefront.extensions import db
from storefront.media import load_picture, store_picture
from storefront.orders.models import Order
from tests.conftest import POSTGRES_URL
from tests.factories import CategoryFactory, ProductFactory, ShopFactory


def photo(shade: int) -> bytes:
    image = Image.linear_gradient("L").resize((900, 700)).convert("RGB")
    image.paste((shade, 90, 160), (50, 50, 400, 300))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def media_bytes(root) -> dict[str, bytes]:
    found = {}
    for where, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(where, name)
            with open(path, "rb") as file:
                found[os.path.relpath(path, root)] = file.read()
    return found


@pytest.fixture
def migrated(app):
    """The test schema comes from create_all; an operator's from migrations, which
    leave the alembic revision behind. Stamp it, as `flask db upgrade` would."""
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS alembic_version "
                                "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                           {"head": code_head()})
    yield
    db.session.remove()
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))


@pytest.fixture
def elsewhere(app_config, tmp_path):
    """A second Gerai with an empty database (a new SQLite file, or a new PostgreSQL
    schema) and an empty media folder: where the archive is restored."""
    url = app_config["SQLALCHEMY_DATABASE_URI"]
    schema = None
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'restored' / 'gerai.db'}"
    else:
        schema = f"gerai_restored_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        url = re.sub(r"search_path%3D[^&]+", f"search_path%3D{schema}", url)
    other = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url,
                        "MEDIA_ROOT": str(tmp_path / "restored-media")})
    yield other
    with other.app_context():
        db.engine.dispose()
    if schema:
        plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class NightShift(threading.Thread):
    """Shoppers who keep buying: a product and an order committed, again and again."""

    def __init__(self, app, shop_id: int, category_id: int):
        super().__init__(daemon=True, name="night-shift")
        self.app, self.shop_id, self.category_id = app, shop_id, category_id
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.products: list[int] = []
        self.orders: list[int] = []
        self.failure: BaseException | None = None

    def committed(self) -> tuple[set[int], set[int]]:
        with self.lock:
            return set(self.products), set(self.orders)

    def run(self):
        try:
            with self.app.app_context():
                number = 0
                while not self.stop.is_set():
                    number += 1
                    try:
                        product = Product(shop_id=self.shop_id, category_id=self.category_id,
                                          name=f"Kue Malam {number}", slug=f"kue-malam-{number}",
                                          description="", price=12_000, stock=5, status="active")
                        order = Order(code=f"GR-MALAM-{number:06d}", shop_id=self.shop_id,
                                      buyer_name="Pembeli Malam", buyer_whatsapp="+6281200000000",
                                      subtotal=12_000, total=12_000, status="paid")
                        db.session.add_all([product, order])
                        db.session.flush()
                        ids = product.id, order.id
                        db.session.commit()
                    except OperationalError:  # SQLite busy while the copy reads: try again
                        db.session.rollback()
                        continue
                    with self.lock:
                        self.products.append(ids[0])
                        self.orders.append(ids[1])
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the test, not lost in a thread
            self.failure = error

    def wait_for(self, count: int, seconds: float = 20):
        deadline = time.monotonic() + seconds
        while len(self.committed()[0]) < count:
            assert time.monotonic() < deadline, f"only {len(self.committed()[0])} sales made"
            assert self.failure is None, self.failure
            time.sleep(0.01)


def back_up(runner, folder) -> str:
    result = runner.invoke(args=["backup", "--to", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Cadangan selesai" in result.output
    archives = [name for name in os.listdir(folder) if name.endswith(".tar.gz")]
    assert len(archives) == 1 and not [n for n in os.listdir(folder) if n.startswith(".")]
    return str(folder / archives[0])


def test_backup_while_shoppers_buy_restores_everything_committed_before(
        app, runner, migrated, elsewhere, tmp_path):
    shop, category = ShopFactory(), CategoryFactory()
    pictured = ProductFactory(shop=shop, category=category, name="Batik Cap Tangerang")
    for shade in (20, 200):
        stored = store_picture(load_picture(photo(shade)))
        pictured.images.append(ProductImage(key=stored.key, width=stored.width,
                                            height=stored.height, alt="batik", position=shade))
    db.session.commit()
    pictures = media_bytes(app.config["MEDIA_ROOT"])
    assert len(pictures) == 6  # two pictures, three WebP derivatives each

    shift = NightShift(app, shop.id, category.id)
    shift.start()
    try:
        shift.wait_for(30)
        products_before, orders_before = shift.committed()
        archive = back_up(runner, tmp_path / "cadangan")
        shift.wait_for(len(shift.committed()[0]) + 10)  # still buying after the backup
    finally:
        shift.stop.set()
        shift.join(10)
    assert shift.failure is None
    made_products, made_orders = shift.committed()
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["alembic_revision"] == code_head()

    result = restore_at(elsewhere, archive, "--yes")
    assert result.exit_code == 0, result.output
    assert "Pemulihan selesai" in result.output

    with elsewhere.app_context():
        products = set(db.session.scalars(select(Product.id)))
        orders = set(db.session.scalars(select(Order.id)))
        images = db.session.scalars(select(ProductImage.key)).all()
        revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.remove()
    assert products_before | {pictured.id} <= products
    assert orders_before <= orders
    # One consistent moment: nothing invented, and the manifest counts what was copied.
    assert products <= made_products | {pictured.id} and orders <= made_orders
    assert (len(products), len(orders)) == (manifest["counts"]["products"],
                                           manifest["counts"]["orders"])
    assert sorted(images) == sorted(i.key for i in pictured.images)
    assert revision == code_head()
    assert media_bytes(elsewhere.config["MEDIA_ROOT"]) == pictures


def restore_at(other, *args, **kwargs):
    # The test's own app context is active, and `flask` commands run in the current
    # app when there is one: push the other app's, or the restore lands in the source.
    with other.app_context():
        return other.test_cli_runner().invoke(args=["restore", *args], **kwargs)


def rewrite(archive: str, target, change) -> str:
    """A copy of ``archive`` with ``change(name, data)`` applied to each member."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as copy:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())
            if data is None:
                continue
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return str(target)


def flip_a_media_byte(name, data):
    if name.startswith("media/") and name.endswith("-320.webp"):
        return data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
    return data


def older_revision(name, data):
    if name == "manifest.json":
        manifest = json.loads(data)
        manifest["alembic_revision"] = "9343ab34594b"
        return json.dumps(manifest).encode()
    return data


def drop_the_database(name, data):
    return None if name.startswith("database.") else data


TAMPERING = {
    "a changed picture": (flip_a_media_byte, "checksum tidak cocok"),
    "another revision": (older_revision, "revisi basis data 9343ab34594b"),
    "the database missing": (drop_the_database, "checksum tidak cocok"),
}


@pytest.fixture
def archive(app, runner, migrated, tmp_path):
    shop = ShopFactory()
    ProductFactory.create_batch(3, shop=shop)
    store_picture(load_picture(photo(70)))
    return back_up(runner, tmp_path / "cadangan")


def nothing_restored(other) -> bool:
    with other.app_context():
        if db.engine.dialect.name == "sqlite":  # not even created
            empty = not os.path.exists(db.engine.url.database)
        else:
            empty = not inspect(db.engine).has_table("product")
        db.engine.dispose()
    return empty and not os.path.exists(other.config["MEDIA_ROOT"])


@pytest.mark.parametrize("how", TAMPERING)
def test_a_tampered_archive_is_refused(archive, elsewhere, tmp_path, how):
    change, reason = TAMPERING[how]
    tampered = rewrite(archive, tmp_path / "tampered.tar.gz", change)
    result = restore_at(elsewhere, tampered, "--yes")
    assert result.exit_code != 0
    assert reason in result.output
    assert nothing_restored(elsewhere)


def test_an_extra_file_in_the_archive_is_refused(archive, elsewhere, tmp_path):
    tampered = tmp_path / "extra.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w:gz") as copy:
        for member in source.getmembers():
            copy.addfile(member, source.extractfile(member))
        extra = tarfile.TarInfo("media/p/evil.html")
        payload = b"<script>alert(1)</script>"
        extra.size = len(payload)
        copy.addfile(extra, io.BytesIO(payload))
    result = restore_at(elsewhere, str(tampered), "--yes")
    assert result.exit_code != 0 and "media/p/evil.html" in result.output
    assert nothing_restored(elsewhere)


def test_a_truncated_archive_is_refused(archive, elsewhere, tmp_path):
    truncated = tmp_path / "truncated.tar.gz"
    data = open(archive, "rb").read()
    truncated.write_bytes(data[: len(data) // 2])
    result = restore_at(elsewhere, str(truncated), "--yes")
    assert result.exit_code != 0 and "Arsip rusak" in result.output
    assert nothing_restored(elsewhere)


def test_restore_asks_first(archive, elsewhere):
    result = restore_at(elsewhere, archive, input="n\n")
    assert result.exit_code != 0
    assert "DIGANTI" in result.output and "checksum cocok" in result.output
    assert nothing_restored(elsewhere)
