"""The city office laying out a fair: stands, shops on them, posters to scan."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from storefront.exhibitions.models import Fair, Stand
from storefront.extensions import db
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token

FAIR = {"name": "Pameran UMKM Situ Cipondoh 2026", "venue": "Taman Situ Cipondoh",
        "starts_on": "2026-12-05", "ends_on": "2026-12-07", "opens_at": "09:00", "closes_at": "21:00"}


@pytest.fixture
def organizer(app, auth):
    UserFactory(email="dinas@contoh.id", roles=["organizer"])
    auth.login("dinas@contoh.id")


def post(client, url, data, page):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)})


@pytest.fixture
def fair(client, organizer):
    response = post(client, "/pameran/baru", FAIR, "/pameran/baru")
    assert response.status_code == 303
    return db.session.scalar(select(Fair))


def test_create_a_fair(fair):
    assert fair.slug == "pameran-umkm-situ-cipondoh-2026" and str(fair.ends_on) == "2026-12-07"


@pytest.mark.parametrize("changes, message", [
    ({"ends_on": "2026-12-01"}, "tidak boleh sebelum"),
    ({"closes_at": "08:00"}, "harus setelah jam buka"),
    ({"name": ""}, "Wajib diisi"),
    ({"starts_on": "besok"}, "Tanggal tidak valid. Pilih dari kalender"),
])
def test_bad_fair_details_are_explained(client, organizer, changes, message):
    response = post(client, "/pameran/baru", {**FAIR, **changes}, "/pameran/baru")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert 'value="Taman Situ Cipondoh"' in response.get_data(as_text=True)


def test_130_stands_in_one_step(client, fair):
    url = f"/pameran/{fair.slug}"
    post(client, f"{url}/stan", {"zone": "a", "first": 1, "count": 100}, url)
    post(client, f"{url}/stan", {"zone": "B", "first": 1, "count": 30}, url)
    codes = db.session.scalars(select(Stand.code).order_by(Stand.code)).all()
    assert len(codes) == 130 and codes[0] == "A-001" and codes[-1] == "B-30"
    again = post(client, f"{url}/stan", {"zone": "B", "first": 25, "count": 10}, url)
    assert again.status_code == 409 and "B-25" in again.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Stand.id))) == 130  # all or none


def test_assign_a_shop_and_print_its_poster(client, fair):
    shop = ShopFactory(name="Dapur Bu Sri")
    ProductFactory(shop=shop, name="Keripik Pedas")
    url = f"/pameran/{fair.slug}"
    post(client, f"{url}/stan", {"zone": "A", "first": 1, "count": 3}, url)
    stand = db.session.scalar(select(Stand).where(Stand.code == "A-02"))
    token = csrf_token(client, url)
    response = client.post(f"{url}/stan/A-02/toko", data={"shop_id": shop.id, "csrf_token": token},
                           headers={"HX-Request": "true", "HX-Target": f"stan-{stand.id}"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="stan-{stand.id}"') and "Tersimpan" in body
    poster = client.get(f"{url}/stan/A-02/poster").get_data(as_text=True)
    assert "A-02" in poster and "Dapur Bu Sri" in poster and "<svg" in poster
    assert "<script" not in poster
    assert re.search(rf"/pameran/{fair.slug}/A-02", poster)


def test_a_visitor_scans_the_poster_and_sees_the_stand(client, fair, app):
    shop = ShopFactory(name="Koperasi Cimone")
    ProductFactory(shop=shop, name="Kopi Robusta")
    ProductFactory(shop=shop, name="Kopi Draf", status="draft")
    stand = Stand(fair=fair, code="C-01", shop=shop)
    db.session.add(stand)
    fair.starts_on = date.today()  # the visitor is at the fair (before it, the page says so)
    db.session.commit()
    visitor = app.test_client()
    page = visitor.get(f"/pameran/{fair.slug}/C-01").get_data(as_text=True)
    assert "Koperasi Cimone" in page and "Kopi Robusta" in page and "Kopi Draf" not in page
    assert visitor.get(f"/pameran/{fair.slug}/Z-99").status_code == 404


def test_only_the_office_manages_fairs(client, auth, app, fair):
    url = f"/pameran/{fair.slug}"
    stranger = app.test_client()
    for path in ("/pameran", "/pameran/baru", url, f"{url}/stan/A-01/poster"):
        assert stranger.get(path).status_code == 302  # to the login page
    UserFactory(email="penjual@contoh.id", roles=["shopper", "seller"])
    auth.logout()
    auth.login("penjual@contoh.id")
    token = csrf_token(client, "/")
    assert client.get(url).status_code == 403
    assert client.post(f"{url}/stan", data={"zone": "X", "count": 5, "csrf_token": token}).status_code == 403
    assert db.session.scalar(select(db.func.count(Stand.id))) == 0


def test_only_verified_shops_take_a_stand(client, fair):
    pending = ShopFactory(status="pending")
    url = f"/pameran/{fair.slug}"
    post(client, f"{url}/stan", {"zone": "A", "first": 1, "count": 1}, url)
    response = post(client, f"{url}/stan/A-01/toko", {"shop_id": pending.id}, url)
    assert response.status_code == 422
    assert db.session.scalar(select(Stand.shop_id)) is None
