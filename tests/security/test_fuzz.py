"""Hostile and random input never escapes as a 500: money, carts, CSV rows, search, the till."""

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storefront.money import parse_rupiah
from storefront.seller.imports import FileRejected, plan_file
from tests.factories import ProductFactory, ShopFactory
from tests.helpers import csrf_token

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NASTY = st.one_of(st.text(max_size=60), st.sampled_from([
    "15.000", "Rp 15.000,00", "-1", "1e9", "٣٠٠٠", "0x1F", "9" * 40, "15.00.0", " ", "NaN",
    "' OR 1=1 --", "<script>alert(1)</script>", "\x00", "%00", "../../etc/passwd"]))


@given(NASTY)
def test_money_parsing_gives_rupiah_or_a_reason(text):
    try:
        value = parse_rupiah(text)
    except ValueError:
        return
    assert isinstance(value, int) and value >= 0


@FUZZ
@given(product=st.one_of(st.integers(-5, 10**12).map(str), NASTY),
       quantity=st.one_of(st.integers(-10**6, 10**6).map(str), NASTY))
def test_cart_arithmetic_never_breaks(client, product, quantity):
    token = csrf_token(client, "/keranjang")
    response = client.post("/keranjang/tambah", data={"product_id": product, "quantity": quantity,
                                                      "csrf_token": token})
    assert response.status_code < 500, (product, quantity)
    page = client.get("/keranjang")
    assert page.status_code == 200


@FUZZ
@given(rows=st.lists(st.lists(NASTY, min_size=1, max_size=8), max_size=6))
def test_csv_rows_are_checked_not_crashed_on(app, rows):
    shop = ShopFactory.build(id=1)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["nama", "harga", "stok", "kategori", "sku"])
    writer.writerows(rows)
    try:
        plan = plan_file(buffer.getvalue().encode("utf-8", "surrogatepass"), "katalog.csv", shop.id)
    except (FileRejected, UnicodeEncodeError):
        return
    assert plan is not None


@FUZZ
@given(params=st.dictionaries(
    st.sampled_from(["q", "kategori", "kecamatan", "jenis", "harga", "min", "max", "stok",
                     "urut", "hal", "stan", "x"]), NASTY, max_size=6))
def test_search_parameters_never_break_the_catalogue(client, params):
    response = client.get("/katalog", query_string=params)
    assert response.status_code < 500, params
    fragment = client.get("/katalog", query_string=params,
                          headers={"HX-Request": "true", "HX-Target": "hasil"})
    assert fragment.status_code < 500, params


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["metode", "nominal", "diterima", "kunci", "q-1",
                                               "q-999", "q-x"]), NASTY, max_size=6))
def test_the_till_answers_any_form_with_a_reason(client, auth, app, fields):
    from datetime import date

    from storefront.exhibitions.models import Fair, Stand
    from storefront.extensions import db

    stand = db.session.get(Stand, 1)
    if stand is None:
        shop = ShopFactory()
        ProductFactory(shop=shop)
        stand = Stand(fair=Fair(name="F", slug="f", venue="V", starts_on=date.today(),
                                ends_on=date.today()), code="A-01", shop=shop)
        db.session.add(stand)
        db.session.commit()
        auth.login(shop.owner.email)
    token = csrf_token(client, "/pameran/f/A-01/kasir")
    response = client.post("/pameran/f/A-01/kasir/jual", data={**fields, "csrf_token": token},
                           headers={"Accept": "application/json"})
    assert response.status_code in (200, 201, 422), (fields, response.status_code)


def test_ids_beyond_the_database_range_are_simply_not_found(client):
    for url in ("/produk/99999999999", "/produk/2147483648/keripik", "/penjual/produk/99999999999"):
        assert client.get(url).status_code in (302, 404), url
