"""The public catalogue through the API: the same answers as the pages, in the API's shapes."""

from __future__ import annotations

import re

import pytest

from storefront.catalogue.models import ProductImage
from storefront.extensions import db
from tests.factories import ProductFactory
from tests.helpers import sync_search

CARD = re.compile(r'<li class="card">\s*<a href="/produk/(\d+)/')


@pytest.fixture
def many(app, catalogue):
    """Thirty more keripik and kopi at different prices, so order and pages matter."""
    for n in range(30):
        ProductFactory(name=f"Keripik Singkong Rasa {n}" if n % 2 else f"Kopi Susu Botol {n}",
                       shop=catalogue.keripik.shop if n % 3 else catalogue.kopi.shop,
                       category=catalogue.keripik.category if n % 2 else catalogue.kopi.category,
                       price=5_000 + (n * 7919) % 90_000, stock=n % 4)
    sync_search()
    return catalogue


def page_ids(client, **params) -> list[int]:
    """The ids the catalogue page shows, in its order (its result cards only)."""
    body = client.get("/katalog", query_string=params,
                      headers={"HX-Request": "true", "HX-Target": "berikutnya"}).get_data(as_text=True)
    return [int(i) for i in CARD.findall(body)]


@pytest.mark.parametrize("page, api", [
    ({"q": "keripik"}, {"q": "keripik"}),
    ({"q": "kripik"}, {"q": "kripik"}),  # a typo, forgiven the same way
    ({"q": "kopi", "urut": "termurah"}, {"q": "kopi", "sort": "price_asc"}),
    ({"urut": "termahal"}, {"sort": "price_desc"}),
    ({"kategori": "makanan", "stok": "1"}, {"category": "makanan", "in_stock": "true"}),
    ({"kecamatan": "Karawaci", "jenis": "koperasi"}, {"kecamatan": "Karawaci", "shop_type": "koperasi"}),
    ({"min": "10.000", "max": "50.000", "urut": "termurah"},
     {"price_min": "10000", "price_max": "50000", "sort": "price_asc"}),
])
def test_the_same_search_gives_the_same_products_in_the_same_order(client, many, page, api):
    expected = page_ids(client, **page)
    answer = client.get("/api/v1/products", query_string=api)
    assert answer.status_code == 200
    assert [p["id"] for p in answer.json["data"]] == expected
    assert answer.json["total"] >= len(expected)


def test_facets_and_totals_are_the_engines(client, many):
    body = client.get("/api/v1/products", query_string={"q": "keripik"}).json
    assert body["facets"]["shop_type"] and sum(body["facets"]["shop_type"].values()) == body["total"]
    assert body["degraded"] is False


def test_cursors_walk_every_match_once(client, many):
    seen, cursor = [], None
    while True:
        query = {"q": "keripik", "limit": "7", **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/products", query_string=query).json
        seen += [p["id"] for p in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == body["total"]


def _cursor(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", ["zzzz", "x" * 64, _cursor("s:1"), _cursor("o:-1"),
                                    _cursor("o:99999"), _cursor("o:٣"), _cursor("o:1\x00")])
def test_a_cursor_not_made_for_this_list_is_a_400_problem(client, many, cursor):
    answer = client.get("/api/v1/products", query_string={"cursor": cursor})
    assert answer.status_code == 400
    assert answer.mimetype == "application/problem+json"
    assert answer.json["type"].endswith("/invalid-cursor")


def test_a_huge_cursor_or_limit_is_refused_with_the_field_named(client, many):
    answer = client.get("/api/v1/products", query_string={"cursor": "A" * 5000, "limit": "١٠"})
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json["errors"]}
    assert {"cursor", "limit"} <= fields


def test_a_product_has_its_web_page_and_three_photo_sizes(client, many):
    product = many.keripik
    db.session.add(ProductImage(product_id=product.id, position=0, key="b" * 64, alt="Keripik",
                                width=1280, height=960))
    db.session.commit()
    body = client.get(f"/api/v1/products/{product.id}").json
    assert body["url"] == f"http://localhost/produk/{product.id}/{product.slug}"
    assert body["price"] == 15_000 and body["currency"] == "IDR"
    urls = body["photos"][0]["urls"]
    assert urls == {size: f"http://localhost/media/p/{'b' * 64}-{width}.webp"
                    for size, width in (("small", 320), ("medium", 640), ("large", 1280))}
    assert client.get(body["url"]).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/products/{draft}", "/api/v1/products/{unverified}",
                                  "/api/v1/products/99999999999", "/api/v1/products/%D9%A3",
                                  "/api/v1/shops/toko-belum", "/api/v1/shops/a%00b",
                                  "/api/v1/fairs/tidak-ada", "/api/v1/tidak-ada"])
def test_hidden_or_unknown_things_are_404_problems(client, many, path):
    answer = client.get(path.format(draft=many.draft.id, unverified=many.unverified.id))
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
    assert answer.json["status"] == 404


def test_problems_speak_english_when_asked(client, many):
    english = client.get("/api/v1/products/99999", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.headers["Content-Language"] == "en"
    assert english.json["title"] == "Page not found"
    indonesian = client.get("/api/v1/products/99999")
    assert indonesian.headers["Content-Language"] == "id"
    assert indonesian.json["detail"] == "Sumber daya ini tidak ada."


def test_reads_carry_an_etag_and_answer_304_when_unchanged(client, many):
    first = client.get("/api/v1/products?q=kopi")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/products?q=kopi", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert "no-cache" in first.headers["Cache-Control"]


def test_cors_answers_only_the_configured_client_origins(app, client, many):
    app.config["API_CORS_ORIGINS"] = ("https://live.tangerangkota.go.id",)
    allowed = client.get("/api/v1/categories", headers={"Origin": "https://live.tangerangkota.go.id"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://live.tangerangkota.go.id"
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    other = client.get("/api/v1/categories", headers={"Origin": "https://jahat.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options("/api/v1/carts", headers={
        "Origin": "https://live.tangerangkota.go.id", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_shops_categories_places_list_what_the_pages_list(client, many):
    shops = client.get("/api/v1/shops").json["data"]
    assert {s["slug"] for s in shops} == {"dapur-bu-sri", "koperasi-warga-cimone"}
    first = client.get("/api/v1/shops", query_string={"limit": "1"}).json
    second = client.get("/api/v1/shops", query_string={"limit": "1", "cursor": first["next_cursor"]}).json
    assert first["data"][0]["id"] < second["data"][0]["id"] and second["next_cursor"] is None
    tree = client.get("/api/v1/categories").json["data"]
    assert [c["slug"] for c in tree] == ["makanan", "minuman"]
    places = client.get("/api/v1/places").json["data"]
    assert len(places) == 13 and sum(len(k["kelurahan"]) for k in places) == 104


def test_a_fair_lists_its_stands_and_what_each_sells(client, many):
    from datetime import date, timedelta

    from storefront.exhibitions.models import Fair, Stand

    fair = Fair(name="Pameran Situ", slug="pameran-situ", venue="Situ Cipondoh",
                starts_on=date.today(), ends_on=date.today() + timedelta(days=1))
    db.session.add_all([fair, Stand(fair=fair, code="A-01", shop=many.keripik.shop),
                        Stand(fair=fair, code="A-02")])
    db.session.commit()
    listed = client.get("/api/v1/fairs").json["data"]
    assert [f["slug"] for f in listed] == ["pameran-situ"]
    detail = client.get("/api/v1/fairs/pameran-situ").json
    assert [(s["code"], s["selling"]) for s in detail["stands"]] == [("A-01", True), ("A-02", False)]
    stand = client.get("/api/v1/fairs/pameran-situ/stands/A-01").json
    assert stand["url"] == "http://localhost/pameran/pameran-situ/A-01"
    assert {p["id"] for p in stand["products"]} == {many.keripik.id, many.sambal.id} | {
        p["id"] for p in stand["products"] if p["shop"]["slug"] == "dapur-bu-sri"}
    assert client.get(stand["url"]).status_code == 200
    assert client.get("/api/v1/fairs/pameran-situ/stands/Z-99").status_code == 404


def test_a_shared_answer_changes_the_moment_the_catalogue_does(client, many):
    url = f"/api/v1/products/{many.keripik.id}"
    first = client.get(url)
    assert client.get(url).data == first.data  # the second from the shared cache
    many.keripik.price = 17_500
    db.session.commit()
    assert client.get(url).json["price"] == 17_500


def test_a_shops_products_by_its_slug(client, many):
    body = client.get("/api/v1/products", query_string={"shop": "koperasi-warga-cimone"}).json
    assert body["data"] and {p["shop"]["slug"] for p in body["data"]} == {"koperasi-warga-cimone"}
    assert client.get("/api/v1/products", query_string={"shop": "toko-belum"}).json["total"] == 0
