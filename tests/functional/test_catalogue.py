"""A shopper browsing and searching the catalogue."""

import re

import pytest

from storefront.extensions import db
from tests.helpers import htmx_get, sync_search


def facet_count(body: str, name: str, value: str) -> int | None:
    match = re.search(rf'name="{name}" value="{re.escape(value)}"[^>]*>[^<]*<span class="count">(\d+)</span>', body)
    return int(match.group(1)) if match else None


HIDDEN_NAMES = ("Keripik Rahasia Draft", "Kopi Tersembunyi Benda", "Keripik Lama Arsip",
                "Toko Belum Diverifikasi")


def test_home_shows_categories_products_and_kecamatan(client, catalogue):
    page = client.get("/").get_data(as_text=True)
    assert "Makanan" in page and "Minuman" in page
    assert "Keripik Pedas Level 5" in page
    assert "Cipondoh" in page and "Karawaci" in page
    assert "Rp15.000" in page


@pytest.mark.parametrize("query, expected", [
    ("kripik pedes", "Keripik Pedas Level 5"),  # two typos forgiven
    ("kop", "Kopi Robusta Bubuk 250 g"),  # prefix while typing
    ("sambel", "Sambal Bawang Extra Pedas"),  # local spelling
    ("ROBUSTA", "Kopi Robusta Bubuk 250 g"),
])
def test_search_forgives_typos_and_prefixes(client, catalogue, query, expected):
    page = client.get("/katalog", query_string={"q": query}).get_data(as_text=True)
    assert expected in page.replace("<mark>", "").replace("</mark>", "")


def test_search_marks_the_matched_words(client, catalogue):
    page = client.get("/katalog?q=keripik").get_data(as_text=True)
    assert "<mark>Keripik</mark> Pedas Level 5" in page


@pytest.mark.parametrize("fragment", [False, True], ids=["full page", "htmx fragment"])
@pytest.mark.parametrize("url", ["/katalog", "/katalog?q=keripik", "/katalog?q=kopi&kecamatan=Karawaci",
                                 "/katalog?kategori=makanan&urut=termurah"])
def test_catalogue_as_page_and_fragment(client, catalogue, url, fragment):
    response = htmx_get(client, url, "hasil") if fragment else client.get(url)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert ('id="hasil"' in body) and (("<html" in body) is not fragment)
    assert ("<form id=\"cari\"" in body) is not fragment


def test_history_restore_and_boosted_requests_get_the_whole_page(client, catalogue):
    for header in ("HX-History-Restore-Request", "HX-Boosted"):
        response = htmx_get(client, "/katalog?q=kopi", "hasil", **{header: "true"})
        assert "<html" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", [
    "/", "/katalog", "/katalog?q=keripik", "/katalog?q=kopi", "/katalog?kategori=kopi",
    "/katalog?kecamatan=Benda", "/katalog?urut=terbaru", "/toko", "/toko?kecamatan=Benda",
    "/toko/dapur-bu-sri", "/toko/koperasi-warga-cimone",
])
@pytest.mark.parametrize("fragment", [False, True], ids=["full page", "htmx fragment"])
def test_hidden_products_never_appear(client, catalogue, url, fragment):
    response = htmx_get(client, url, "hasil") if fragment else client.get(url)
    body = response.get_data(as_text=True)
    for name in HIDDEN_NAMES:
        assert name not in body


def test_hidden_products_are_not_counted_in_facets_or_totals(client, catalogue):
    body = client.get("/katalog").get_data(as_text=True)
    assert "3 produk ditemukan" in body
    assert "Benda" not in body  # only the unverified shop is in Benda
    body = client.get("/katalog?q=kopi").get_data(as_text=True)
    assert "1 produk ditemukan" in body


@pytest.mark.parametrize("product", ["draft", "unverified", "archived"])
def test_hidden_product_pages_are_not_found(client, catalogue, product):
    hidden = getattr(catalogue, product)
    assert client.get(f"/produk/{hidden.id}/{hidden.slug}").status_code == 404


def test_unverified_shop_page_is_not_found(client, catalogue):
    assert client.get("/toko/toko-belum").status_code == 404


def test_facets_count_what_the_filters_would_show(client, catalogue):
    body = client.get("/katalog").get_data(as_text=True)
    # two of the three visible products are food, one is drink; none in Benda
    assert facet_count(body, "kategori", "makanan") == 2
    assert facet_count(body, "kategori", "minuman") == 1
    assert facet_count(body, "kecamatan", "Cipondoh") == 2
    assert facet_count(body, "jenis", "koperasi") == 1
    filtered = client.get("/katalog?kategori=makanan").get_data(as_text=True)
    assert "2 produk ditemukan" in filtered
    assert "Kopi Robusta" not in filtered
    koperasi = client.get("/katalog?jenis=koperasi").get_data(as_text=True)
    assert "1 produk ditemukan" in koperasi and "Kopi Robusta" in koperasi


def test_in_stock_filter_leaves_out_sold_out_products(client, catalogue):
    everything = client.get("/katalog").get_data(as_text=True)
    assert "Sambal Bawang" in everything and "Stok habis" in everything
    in_stock = client.get("/katalog?stok=1").get_data(as_text=True)
    assert "Sambal Bawang" not in in_stock


@pytest.mark.parametrize("sort, first, last", [
    ("termurah", "Keripik Pedas", "Kopi Robusta"),
    ("termahal", "Kopi Robusta", "Keripik Pedas"),
])
def test_sort_by_price(client, catalogue, sort, first, last):
    body = client.get(f"/katalog?urut={sort}").get_data(as_text=True)
    assert body.index(first) < body.index(last)


def test_price_range_typed_by_hand(client, catalogue):
    body = client.get("/katalog", query_string={"min": "20.000", "max": "45.000"}).get_data(as_text=True)
    assert "Kopi Robusta" in body and "Sambal Bawang" in body and "Keripik Pedas" not in body


@pytest.mark.parametrize("query_string", [
    {"min": "abc"}, {"max": "Rp"}, {"hal": "-1"}, {"hal": "abc"}, {"hal": "999999"},
    {"urut": "x"}, {"q": "k" * 10_000}, {"kecamatan": "Atlantis"}, {"jenis": "pt"},
    {"harga": "1-2"}, {"kategori": "<script>"}, {"q": "\"' OR 1=1 --"}, {"q": "(((("},
    {"q": "\x00"}, {"stok": "yes"},
])
def test_bad_parameters_give_a_normal_page(client, catalogue, query_string):
    response = client.get("/katalog", query_string=query_string)
    assert response.status_code in (200, 400)
    assert "Terjadi kesalahan" not in response.get_data(as_text=True)


def test_bad_price_is_explained_next_to_the_field(client, catalogue):
    body = client.get("/katalog?min=abc").get_data(as_text=True)
    assert 'id="min-error"' in body and "Masukkan harga berupa angka" in body
    assert 'value="abc"' in body  # what the shopper typed stays in the field
    assert "3 produk ditemukan" in body  # the bad filter is ignored, not applied


def test_zero_results_suggest_removing_a_filter(client, catalogue):
    body = client.get("/katalog?q=kopi&kecamatan=Cipondoh").get_data(as_text=True)
    assert "Tidak ada produk yang cocok" in body
    assert "/katalog?q=kopi" in body  # the link without the kecamatan filter
    assert "Hapus semua" in body


def test_more_results_by_scroll_and_by_link(client, catalogue, app):
    from tests.factories import ProductFactory

    for n in range(30):
        ProductFactory(name=f"Kopi Susu Gula Aren {n}", shop=catalogue.kopi.shop,
                       category=catalogue.kopi.category, price=20_000 + n)
    sync_search()
    first = client.get("/katalog?q=kopi&urut=termurah").get_data(as_text=True)
    assert first.count('class="card"') == 24
    assert 'hx-trigger="revealed"' in first
    assert 'href="/katalog?q=kopi&amp;urut=termurah&amp;hal=2"' in first
    more = htmx_get(client, "/katalog?q=kopi&urut=termurah&hal=2", "berikutnya").get_data(as_text=True)
    assert "<html" not in more and more.count('class="card"') == 7
    assert 'hx-trigger="revealed"' not in more  # last page: no sentinel
    names_first = {line for line in first.split('class="card"')[1:]}
    assert not names_first & set(more.split('class="card"')[1:])


def test_product_page(client, catalogue):
    product = catalogue.keripik
    response = client.get(f"/produk/{product.id}")
    assert response.status_code == 301  # the canonical URL carries the slug
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Keripik Pedas Level 5" in page and "Rp15.000" in page
    assert "Dapur Bu Sri" in page and "Ketapang" in page
    assert "Sambal Bawang" in page  # more from this shop


def test_sold_out_product_page_says_so(client, catalogue):
    page = client.get(f"/produk/{catalogue.sambal.id}/{catalogue.sambal.slug}").get_data(as_text=True)
    assert "Stok habis" in page


def test_shop_page(client, catalogue):
    page = client.get("/toko/koperasi-warga-cimone").get_data(as_text=True)
    assert "Koperasi Warga Cimone" in page and "Karawaci" in page and "Koperasi" in page
    assert "Kopi Robusta" in page and "Keripik Lama Arsip" not in page


def test_shops_by_kecamatan(client, catalogue):
    page = client.get("/toko?kecamatan=Karawaci").get_data(as_text=True)
    assert "Koperasi Warga Cimone" in page and "Dapur Bu Sri" not in page


def test_markup_in_names_is_shown_as_text(client, catalogue):
    from tests.factories import ProductFactory

    ProductFactory(name='<img src=x onerror=alert(1)> Kopi', shop=catalogue.kopi.shop,
                   category=catalogue.kopi.category,
                   description='<div hx-get="/keluar" hx-trigger="load">x</div>')
    sync_search()
    for url in ("/katalog?q=kopi", "/katalog"):
        body = client.get(url).get_data(as_text=True)
        assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    product_id = [p for p in catalogue.kopi.shop.products if p.name.startswith("<img")][0].id
    body = client.get(f"/produk/{product_id}", follow_redirects=True).get_data(as_text=True)
    assert '<div hx-get="/keluar"' not in body


def test_search_engine_down_falls_back_to_the_database(client, catalogue, app, monkeypatch):
    from search import SearchUnavailable
    from storefront.indexing import services

    def broken(query):
        raise SearchUnavailable("engine stopped")

    monkeypatch.setattr(services.backend(), "search", broken)
    response = client.get("/katalog?q=kopi")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Kopi Robusta" in body and "pencarian sederhana" in body


def test_catalogue_fragments_are_shared_until_the_catalogue_changes(client, catalogue, monkeypatch):
    from storefront.indexing import services

    searches = []
    engine = services.backend()
    original = engine.search
    monkeypatch.setattr(engine, "search", lambda q: searches.append(q) or original(q))
    first = htmx_get(client, "/katalog?q=kopi", "hasil").get_data(as_text=True)
    again = htmx_get(client, "/katalog?q=kopi", "hasil").get_data(as_text=True)
    assert first == again and len(searches) == 1  # the second came from the cache
    catalogue.kopi.price = 47_500
    db.session.commit()
    sync_search()
    fresh = htmx_get(client, "/katalog?q=kopi", "hasil").get_data(as_text=True)
    assert "Rp47.500" in fresh and len(searches) == 2


def test_shared_fragments_carry_nothing_about_the_visitor(client, auth, catalogue):
    from tests.factories import UserFactory

    UserFactory(email="budi@contoh.id", name="Budi Santoso")
    auth.login("budi@contoh.id")
    body = htmx_get(client, "/katalog", "hasil").get_data(as_text=True)
    assert "csrf" not in body.lower() and "Budi" not in body
