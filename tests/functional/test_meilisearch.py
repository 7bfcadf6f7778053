"""The storefront on a real Meilisearch: what shoppers find, and what happens when it dies."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from search import SearchQuery
from search.meili import _as_fields
from storefront import worker
from storefront.catalogue.models import Product
from storefront.extensions import db
from storefront.indexing import services
from storefront.indexing.models import SearchOutbox
from tests.factories import CategoryFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token, htmx_get, sync_search
from tests.meili_server import unique_prefix

NOTICE = "pencarian sederhana"


def use_meilisearch(app, url: str, key: str):
    app.config.update(SEARCH_BACKEND="meilisearch", MEILI_URL=url, MEILI_MASTER_KEY=key,
                      MEILI_INDEX_PREFIX=unique_prefix())
    app.extensions["gerai.search"] = None
    index = services.backend()
    index.setup()
    return index


@pytest.fixture
def meili(app, meili_server):
    index = use_meilisearch(app, *meili_server)
    yield index
    admin = index._admin()
    admin.wait_for_task(admin.delete_index(index.uid).task_uid)


@pytest.fixture
def own_meili(app, own_meili_server, monkeypatch):
    """An index on a server of this test's own, so the test may stop it."""
    index = use_meilisearch(app, own_meili_server.url, own_meili_server.key)
    index._retry_after = 0.0  # a restarted server answers the very next search
    monkeypatch.setattr(services, "RETRY_AFTER", timedelta(milliseconds=200))
    return index


def indexed(index) -> dict[int, dict]:
    documents = index._admin().http.get(f"indexes/{index.uid}/documents?limit=10000")["results"]
    return {doc["id"]: doc for doc in documents}


def visible_in_database() -> dict[int, dict]:
    return {doc.id: _as_fields(doc) for batch in services.visible_document_batches()
            for doc in batch}


def assert_index_equals_database(index):
    """Every visible product with its current fields, and nothing else (detaches loaded rows)."""
    db.session.expire_all()
    assert indexed(index) == visible_in_database()


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- shoppers --------------------------------------------------------------------------

def test_catalogue_searches_through_meilisearch(client, meili, catalogue):
    body = page(client, "/katalog?q=kripik+pedes")
    assert "<mark>Keripik</mark> <mark>Pedas</mark> Level 5" in body
    assert NOTICE not in body
    assert "Robusta Bubuk" in page(client, "/katalog?q=kopi&kecamatan=Karawaci")
    assert "Robusta Bubuk" not in page(client, "/katalog?q=kopi&kecamatan=Cipondoh")


def test_hidden_products_are_never_indexed(meili, catalogue):
    hidden = {catalogue.draft.id, catalogue.unverified.id, catalogue.archived.id}
    assert_index_equals_database(meili)
    assert not hidden & set(indexed(meili))
    for text in ("", "keripik", "kopi", "rahasia", "tersembunyi", "arsip"):
        assert not hidden & set(meili.search(SearchQuery(text=text, limit=100)).ids)


@pytest.mark.parametrize("value", ['" OR status = "draft', "1 OR 1=1",
                                   'keripik-camilan" OR categories EXISTS OR categories = "'])
def test_crafted_filter_values_show_nothing_hidden(client, meili, catalogue, value):
    body = page(client, f"/katalog?kategori={value}&q=")
    for hidden in ("Rahasia Draft", "Tersembunyi", "Lama Arsip", "Keripik Pedas"):
        assert hidden not in body


# --- keeping the index right ---------------------------------------------------------

def test_search_setup_command_applies_the_settings(runner, meili):
    admin = meili._admin()
    admin.wait_for_task(admin.index(meili.uid).update_synonyms({}).task_uid)
    result = runner.invoke(args=["search-setup"])
    assert result.exit_code == 0 and "meilisearch" in result.output
    assert admin.index(meili.uid).get_synonyms()["kripik"] == ["keripik"]


def test_reindex_swaps_in_a_fresh_index(runner, meili, catalogue):
    meili.clear()
    result = runner.invoke(args=["search-reindex"])
    assert result.exit_code == 0 and "3 produk di indeks" in result.output
    assert_index_equals_database(meili)
    assert not meili._exists(meili.rebuild_uid)


def make_products(count: int) -> list[Product]:
    shop = ShopFactory(name="Sentra Oleh-oleh Cisadane")
    category = CategoryFactory(name="Makanan", slug="makanan")
    products = [Product(shop=shop, category=category, name=f"Dodol Cisadane {n}",
                        slug=f"dodol-cisadane-{n}", price=10_000 + n, stock=n % 7, status="active")
                for n in range(count)]
    db.session.add_all(products)
    db.session.commit()
    return products


def test_meilisearch_killed_mid_sync_the_worker_catches_up(app, own_meili_server, own_meili):
    products = make_products(1000)
    sync_search()
    # 1,000 changes, then the worker applies them batch by batch while the server dies.
    for n, product in enumerate(products):
        product.price += 1_000
        if n % 10 == 0:
            product.status = "archived"
    db.session.commit()
    assert services.pending_count() == 1000

    real_wait, waits = own_meili._wait, []

    def dies_during_the_second_batch(task_uids):
        waits.append(task_uids)
        if len(waits) == 2:
            own_meili_server.kill()
        return real_wait(task_uids)

    own_meili._wait = dies_during_the_second_batch
    stop = threading.Event()

    def work():
        with app.app_context():
            worker.run(stop, search=True, payments=False, interval=0.05)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert wait_until(lambda: failing_rows() > 0)
        own_meili_server.start()
        assert wait_until(lambda: services.pending_count() == 0, seconds=30)
    finally:
        stop.set()
        thread.join(10)
    assert_index_equals_database(own_meili)
    assert len(indexed(own_meili)) == 900


def test_a_worker_dying_mid_batch_loses_nothing(app, meili, catalogue, monkeypatch):
    catalogue.kopi.price = 52_000
    catalogue.keripik.status = "archived"
    db.session.commit()
    real_upsert = meili.upsert

    def upsert_then_die(documents):
        real_upsert(documents)
        raise SystemExit("worker killed before it marked the rows done")

    monkeypatch.setattr(meili, "upsert", upsert_then_die)
    with pytest.raises(SystemExit):
        services.apply_outbox()
    db.session.rollback()
    monkeypatch.undo()
    assert services.pending_count() == 2
    sync_search()
    assert_index_equals_database(meili)


# --- when Meilisearch is down --------------------------------------------------------

def test_with_meilisearch_stopped_the_shop_keeps_serving(client, auth, own_meili_server, own_meili,
                                                         catalogue):
    own_meili_server.stop()
    for url in ("/katalog", "/katalog?q=kopi", "/katalog?q=kopi&urut=termurah&hal=1"):
        body = page(client, url)
        assert NOTICE in body
    assert "Robusta Bubuk" in page(client, "/katalog?q=kopi")
    fragment = htmx_get(client, "/katalog?q=keripik", "hasil")
    assert fragment.status_code == 200 and NOTICE in fragment.get_data(as_text=True)
    assert page(client, "/")

    # A change made meanwhile waits in the outbox, and the office sees why.
    catalogue.kopi.name = "Kopi Robusta Lampung"
    db.session.commit()
    assert services.apply_outbox() == 0
    UserFactory(email="dinas@contoh.id", roles=["admin"])
    auth.login("dinas@contoh.id")
    status = page(client, "/admin/pencarian")
    assert 'id="gagal">1<' in status and "Meilisearch" in status

    # Back up: the worker catches up by itself, and search is smart again.
    own_meili_server.start()
    assert wait_until(lambda: services.apply_outbox() == 1)
    body = page(client, "/katalog?q=lampung")
    assert "<mark>Lampung</mark>" in body and NOTICE not in body
    assert "Semua perubahan produk sudah masuk" in page(client, "/admin/pencarian")


def test_office_retries_failed_changes_now(client, auth, app, meili, catalogue, monkeypatch):
    def refused(documents):
        raise ConnectionError("search engine unreachable")

    catalogue.kopi.price = 46_000
    db.session.commit()
    monkeypatch.setattr(meili, "upsert", refused)
    services.apply_outbox()
    monkeypatch.undo()
    UserFactory(email="dinas@contoh.id", roles=["admin"])
    auth.login("dinas@contoh.id")
    assert "unreachable" in page(client, "/admin/pencarian")
    token = csrf_token(client, "/admin/pencarian")
    response = client.post("/admin/pencarian/ulangi", data={"csrf_token": token})
    assert response.status_code == 303
    assert "1 perubahan dicoba lagi" in page(client, "/admin/pencarian")
    assert sync_search() == 1
    assert indexed(meili)[catalogue.kopi.id]["price"] == 46_000


def failing_rows() -> int:
    db.session.rollback()  # see what the worker committed
    return db.session.scalar(select(db.func.count()).select_from(SearchOutbox)
                             .where(SearchOutbox.attempts > 0))


def wait_until(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
