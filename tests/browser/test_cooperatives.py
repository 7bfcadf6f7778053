"""A cooperative manager's live list and a read-only observer, in Chromium."""

import itertools
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.helpers import ring_up

pytestmark = pytest.mark.browser

_runs = itertools.count(1)


def _user(email: str, roles: list[str]):
    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from tests.conftest import TEST_PASSWORD

    user = User(name=email.split("@")[0], email=email, password_hash=hash_password(TEST_PASSWORD))
    user.roles = [UserRole(role=role) for role in roles]
    return user


@pytest.fixture
def cooperative(live_app):
    """A cooperative with a manager and one member shop that sells at a fair stand."""
    from sqlalchemy import select

    from storefront.catalogue.models import Shop
    from storefront.cooperatives import services as coops
    from storefront.exhibitions.models import Fair, Stand
    from storefront.extensions import db

    n = next(_runs)
    with live_app.app_context():
        office = _user(f"dinas-koperasi{n}@gerai.test", ["admin"])
        manager = _user(f"pengelola{n}@gerai.test", ["shopper"])
        observer = _user(f"auditor{n}@gerai.test", ["observer"])
        db.session.add_all([office, manager, observer])
        db.session.commit()
        shop = db.session.scalars(select(Shop).where(Shop.verified).order_by(Shop.id)
                                  .offset(20 + n)).first()
        coop = coops.create(f"Koperasi Uji {n}", f"AHU-UJI-{n}", shop.kecamatan, shop.kelurahan,
                            office, managers=[manager])
        coops.accept(coops.invite(coop, shop, manager), shop.owner)
        db.session.commit()
        fair = Fair(name=f"Pameran Koperasi {n}", slug=f"pameran-koperasi-{n}", venue="Situ",
                    starts_on=date.today(), ends_on=date.today() + timedelta(days=1))
        stand = Stand(fair=fair, code="K-01", shop=shop)
        db.session.add_all([fair, stand])
        db.session.commit()
        info = {"slug": coop.slug, "manager": manager.email, "observer": observer.email,
                "stand_id": stand.id}
        db.session.remove()
    return info


def member_sells(live_app, stand_id: int, amount: int) -> str:
    from storefront.exhibitions.models import Stand
    from storefront.extensions import db

    with live_app.app_context():
        stand = db.session.get(Stand, stand_id)
        purchase, _ = ring_up(stand, [], amount, method="cash", key=f"koperasi-{next(_runs)}")
        code = purchase.orders[0].code
        db.session.remove()
    return code


def test_the_managers_live_list_shows_a_new_sale_without_reload(new_context, live_app, cooperative):
    page = log_in(new_context(), cooperative["manager"])
    page.goto(f"/koperasi/{cooperative['slug']}")
    expect(page.get_by_text("Belum ada penjualan anggota.")).to_be_visible()
    page.evaluate("window.sameList = true")
    code = member_sells(live_app, cooperative["stand_id"], 37_500)
    row = page.locator("#penjualan-list li", has_text=code)
    expect(row).to_be_visible(timeout=8_000)
    expect(row).to_contain_text("Rp37.500")
    second = member_sells(live_app, cooperative["stand_id"], 12_000)
    expect(page.locator("#penjualan-list li").first).to_contain_text(second, timeout=8_000)
    expect(page.locator("#penjualan-list li")).to_have_count(2)  # each sale once
    assert page.evaluate("window.sameList") is True


def test_an_observer_reads_everything_and_can_change_nothing(new_context, live_app, cooperative):
    page = log_in(new_context(), cooperative["observer"])
    changing_forms = ("form[method=post]:not([action='/keluar']):not([action='/bahasa'])")
    for url in ("/laporan", "/laporan/cakupan", "/laporan/naik-kelas", "/admin/audit",
                "/admin/kategori", "/admin/verifikasi", "/admin/koperasi", "/admin/rekening",
                f"/koperasi/{cooperative['slug']}"):
        response = page.goto(url)
        assert response.status == 200, url
        expect(page.locator(changing_forms)).to_have_count(0)
    # Called directly, with a valid CSRF token, the changing routes still refuse.
    statuses = page.evaluate("""async (slug) => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const post = (url, body) => fetch(url, {method: 'POST', headers: {'X-CSRFToken': token},
                                                body: new URLSearchParams(body)}).then(r => r.status);
        return [await post('/admin/koperasi', {name: 'X', legal_number: 'Y'}),
                await post('/admin/kategori', {name: 'Baru'}),
                await post(`/koperasi/${slug}/undang`, {toko: 'apa-saja'})];
    }""", cooperative["slug"])
    assert statuses == [403, 403, 403], statuses
