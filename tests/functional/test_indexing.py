"""The search index follows the database through the outbox, and never drifts."""

import pytest
from sqlalchemy import select

from search import SearchQuery
from storefront.extensions import db
from storefront.indexing import services
from storefront.indexing.models import SearchOutbox
from tests.factories import ProductFactory, ShopFactory
from tests.helpers import sync_search


def found(text: str = "") -> set[int]:
    return set(services.backend().search(SearchQuery(text=text, limit=100)).ids)


def test_a_new_product_writes_an_outbox_row_in_its_transaction(app):
    product = ProductFactory(name="Kopi Jahe Sachet")
    assert db.session.scalar(select(SearchOutbox.product_id)) == product.id
    assert found("kopi") == set()  # not yet applied
    sync_search()
    assert found("kopi") == {product.id}
    assert services.pending_count() == 0


def test_a_rolled_back_change_leaves_no_outbox_row(app):
    product = ProductFactory(name="Dodol Betawi")
    sync_search()
    product.name = "Dodol Durian"
    db.session.flush()
    db.session.rollback()
    assert services.pending_count() == 0


@pytest.mark.parametrize("change", ["draft", "archived"])
def test_hiding_a_product_removes_it_from_search(app, change):
    product = ProductFactory(name="Batik Tulis Benteng")
    sync_search()
    product.status = change
    db.session.commit()
    sync_search()
    assert found("batik") == set()


def test_unverifying_a_shop_hides_all_its_products(app):
    shop = ShopFactory()
    products = [ProductFactory(shop=shop, name=f"Madu Hutan {n}") for n in range(3)]
    sync_search()
    assert found("madu") == {p.id for p in products}
    shop.verified = False
    db.session.commit()
    sync_search()
    assert found("madu") == set()
    shop.verified = True
    db.session.commit()
    sync_search()
    assert found("madu") == {p.id for p in products}


def test_renaming_a_shop_updates_its_products(app):
    shop = ShopFactory(name="Warung Lama")
    ProductFactory(shop=shop, name="Sambal Roa")
    sync_search()
    shop.name = "Sentra Sambal Cisadane"
    db.session.commit()
    sync_search()
    assert len(found("cisadane")) == 1


def test_price_and_stock_changes_reach_the_facets(app):
    product = ProductFactory(name="Kopi Luwak", price=20_000, stock=5)
    sync_search()
    product.price = 300_000
    product.stock = 0
    db.session.commit()
    sync_search()
    results = services.backend().search(SearchQuery(text="kopi"))
    assert results.facets["price_band"] == {"250000-": 1}
    assert results.facets.get("in_stock", {}).get("true", 0) == 0


def test_a_failing_backend_keeps_the_rows_for_a_retry(app, monkeypatch):
    product = ProductFactory(name="Keripik Tempe Sagu")
    index = services.backend()

    def engine_down(documents):
        raise ConnectionError("search engine unreachable")

    monkeypatch.setattr(index, "upsert", engine_down)
    assert services.apply_outbox() == 0
    row = db.session.scalar(select(SearchOutbox))
    assert row.attempts == 1 and "unreachable" in row.last_error
    monkeypatch.undo()
    row.available_at = row.enqueued_at  # the back-off has passed
    db.session.commit()
    assert sync_search() == 1
    assert found("tempe") == {product.id}


def test_reindex_rebuilds_from_the_database(app):
    products = [ProductFactory(name=f"Kerajinan Bambu {n}") for n in range(5)]
    ProductFactory(name="Kerajinan Bambu Draft", status="draft")
    services.backend().clear()
    assert services.reindex() == 5
    assert found("bambu") == {p.id for p in products}
    assert services.pending_count() == 0


def test_search_reindex_command_shows_progress(runner, app):
    ProductFactory(name="Tas Anyaman Pandan")
    result = runner.invoke(args=["search-reindex"])
    assert result.exit_code == 0 and "1 produk di indeks" in result.output
    result = runner.invoke(args=["search-reindex", "--if-stale"])
    assert "sudah lengkap" in result.output


def test_worker_once_drains_the_outbox(runner, app):
    ProductFactory(name="Gula Aren Cair")
    result = runner.invoke(args=["search-worker", "--once"])
    assert result.exit_code == 0 and "1 perubahan" in result.output
    assert found("aren")


def test_the_queue_applies_changes_by_itself(app_config):
    import time

    from storefront import create_app, tasks

    app = create_app({**app_config, "WORKER_THREAD": True, "TASK_QUEUE": "memory"})
    try:
        with app.app_context():
            product = ProductFactory(name="Bir Pletok Botol")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not found("pletok"):
                time.sleep(0.05)
            assert found("pletok") == {product.id}
    finally:
        tasks.stop_embedded(app)
        with app.app_context():
            db.session.remove()
            from tests.conftest import _empty_tables

            _empty_tables()
