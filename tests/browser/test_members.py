"""A cooperative member pays three open bills with one QRIS payment on a phone; the
manager's books page shows it without a reload; the receipt lists what each rupiah paid."""

import itertools
import os
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.seen import assert_seen, sideways_overflow
from tests.browser.test_cooperatives import _user
from tests.browser.test_fair import decode_qr, pay_on_the_wallet

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("GERAI_SHOTS")  # a folder: keep each page's phone screenshot there


def shoot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/anggota-{name}.png", full_page=True)

_runs = itertools.count(1)


@pytest.fixture
def member(live_app):
    from storefront.cooperatives import services as coops
    from storefront.extensions import db
    from storefront.members import services

    n = next(_runs)
    with live_app.app_context():
        office = _user(f"dinas-anggota{n}@gerai.test", ["admin"])
        manager = _user(f"ketua-koperasi{n}@gerai.test", ["shopper"])
        person = _user(f"anggota{n}@gerai.test", ["shopper"])
        db.session.add_all([office, manager, person])
        db.session.commit()
        coop = coops.create(f"Koperasi Simpan Pinjam {n}", f"AHU-KSP-{n}", "Cipondoh", "Ketapang",
                            office, managers=[manager])
        member = services.register(coop, name="Sri Wahyuni", phone="081200000001", user=person,
                                   email=person.email, actor=manager)
        today = date.today()
        services.bill_run(coop.id, today.replace(day=1))
        services.add_bill(member, 35_000, "Kredit toko koperasi <b>Oktober</b>", today, manager)
        db.session.commit()
        return {"id": member.id, "slug": coop.slug, "email": person.email,
                "manager": manager.email, "office": office.email}


def test_one_qris_payment_pays_three_bills_and_the_manager_sees_it_live(new_context, live_app,
                                                                        member):
    manager = log_in(new_context(), member["manager"])
    manager.goto(f"/koperasi/{member['slug']}/buku")
    expect(manager.get_by_role("heading", name="Neraca saldo")).to_be_visible()
    assert sideways_overflow(manager) <= 0

    phone = log_in(new_context(), member["email"])
    phone.goto(f"/anggota/{member['id']}")
    bills = phone.locator(".bills-door .bill-list li")
    expect(bills).to_have_count(3)
    expect(phone.locator(".bills-door .big-amount")).to_have_text("Rp160.000")
    # the bill's text is shown as text, never as markup
    expect(bills.filter(has_text="<b>Oktober</b>")).to_have_count(1)
    shoot(phone, "anggota")
    assert sideways_overflow(phone) <= 0
    pay = phone.get_by_role("button", name="Bayar semua tagihan")
    assert_seen(pay, "the one pay button")
    pay.click()

    expect(phone.locator("[data-qris] svg")).to_be_visible()
    saved = phone.get_by_role("link", name="Simpan gambar QR")
    expect(saved).to_be_visible()
    picture = phone.request.get(saved.get_attribute("href"))
    assert picture.status == 200 and picture.headers["content-type"] == "image/png"
    payload = decode_qr(phone, "[data-qris]")
    shoot(phone, "bayar-qris")
    assert sideways_overflow(phone) <= 0
    pay_on_the_wallet(new_context, payload)

    expect(phone.locator(".ok-box")).to_contain_text("LUNAS", timeout=10_000)
    rows = phone.locator("table.allocation tbody tr")
    expect(rows).to_have_count(3)
    expect(phone.locator("table.allocation tfoot")).to_contain_text("Rp160.000")
    for bill in ("Simpanan pokok", "Simpanan wajib", "Kredit toko koperasi"):
        expect(rows.filter(has_text=bill)).to_have_count(1)
    shoot(phone, "kuitansi")
    assert sideways_overflow(phone) <= 0

    # the manager's open page got the payment by itself
    expect(manager.locator("#posting-list li").first).to_contain_text("Rp160.000", timeout=8_000)
    expect(manager.locator("#posting-list li").first).to_contain_text("Pembayaran tagihan")
    shoot(manager, "buku")
    for path in (f"/koperasi/{member['slug']}/anggota", f"/koperasi/{member['slug']}/pinjaman",
                 f"/koperasi/{member['slug']}/pengaturan", f"/koperasi/{member['slug']}/anggota/"
                 f"{member['id']}", f"/koperasi/{member['slug']}/laporan/buku-anggota",
                 f"/koperasi/{member['slug']}/anggota/impor", f"/koperasi/{member['slug']}/laporan/shu"):
        manager.goto(path)
        shoot(manager, path.rsplit("/", 1)[-1])
        assert sideways_overflow(manager) <= 0, path

    phone.goto(f"/anggota/{member['id']}")
    expect(phone.locator(".bills-door .big-amount")).to_have_text("Rp0")
    with live_app.app_context():
        from storefront.members import books

        assert books.check() == []


def test_the_office_health_table_on_a_phone(new_context, member):
    office = log_in(new_context(), member["office"])
    office.goto("/admin/koperasi/kesehatan?urut=savings")
    expect(office.get_by_role("heading", name="Kesehatan koperasi")).to_be_visible()
    expect(office.locator("tbody tr").filter(has_text="Koperasi Simpan Pinjam")).not_to_have_count(0)
    shoot(office, "kesehatan")
    assert sideways_overflow(office) <= 0
