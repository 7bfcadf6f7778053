"""The sales ledger: every paid sale, refund and payout posted once, and a check that proves it."""

from datetime import date

import pytest
from sqlalchemy import select, update

from storefront.exhibitions import till
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import AuditEntry, LedgerEntry
from storefront.orders.models import Order
from tests.factories import ProductFactory, UserFactory
from tests.functional.test_fair_dashboard import fair  # noqa: F401 (fixture)
from tests.helpers import ring_up, void


@pytest.fixture
def stand(app, fair):  # noqa: F811
    app.config["PLATFORM_FEE_PERCENT"] = 2
    return fair.stands[0]


def cash_sale(stand, amount, key):
    purchase, _ = ring_up(stand, [], amount, method="cash", key=key)
    return purchase.orders[0]


def test_a_cash_sale_its_void_and_a_payout_balance(app, runner, stand):
    order = cash_sale(stand, 50_000, "kunci-buku-1")
    shop = order.shop
    account = ledger.statement(shop.id)
    # The shop holds the cash; it owes the platform its 2 % fee.
    assert (account.gross, account.fees, account.cash, account.balance) == (50_000, -1_000, -50_000, -1_000)
    second = cash_sale(stand, 30_000, "kunci-buku-2")
    void(second, "Salah input", None)
    account = ledger.statement(shop.id)
    assert (account.gross, account.refunds, account.net_sales) == (80_000, -30_000, 50_000)
    assert account.balance == -1_000
    result = runner.invoke(args=["ledger-check"])
    assert result.exit_code == 0 and "seimbang" in result.output, result.output


def test_a_payout_is_posted_and_audited(app, stand):
    office = UserFactory(roles=["admin"])
    shop = stand.shop
    ledger.record_payout(shop, 75_000, "BCA 0012345", date.today(), office)
    db.session.commit()
    assert ledger.statement(shop.id).payouts == -75_000
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "payout.record"))
    assert audit.actor_id == office.id and audit.after["amount"] == 75_000
    assert ledger.check() == []


def test_the_check_finds_a_missing_or_altered_entry(app, runner, stand):
    order = cash_sale(stand, 20_000, "kunci-buku-3")
    db.session.execute(update(LedgerEntry).where(LedgerEntry.order_id == order.id,
                                                 LedgerEntry.kind == "sale").values(amount=2_000))
    db.session.commit()
    result = runner.invoke(args=["ledger-check"])
    assert result.exit_code != 0 and order.code in result.output


def test_an_order_paid_outside_the_ledger_is_reported(app, stand):
    order = cash_sale(stand, 10_000, "kunci-buku-4")
    db.session.execute(update(Order).where(Order.id == order.id).values(total=11_000, subtotal=11_000))
    db.session.commit()
    assert any(order.code in problem for problem in ledger.check())


def test_ledger_dimensions_are_kept_as_they_were(app, stand):
    order = cash_sale(stand, 10_000, "kunci-buku-5")
    stand.shop.kecamatan = "Benda"
    db.session.commit()
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.order_id == order.id,
                                                        LedgerEntry.kind == "sale"))
    assert entry.kecamatan == "Cipondoh" and entry.fair_id == stand.fair_id


def test_seller_cancelling_a_paid_order_refunds_it(client, auth, stand):
    product = ProductFactory(shop=stand.shop, price=25_000, stock=5)
    item = till.stand_items(stand)
    purchase, _ = ring_up(stand, [till.SaleLine(item[0], 1)], 0, method="cash",
                               key="kunci-buku-6", fulfilment="pickup")
    order = purchase.orders[0]
    assert order.status == "new" and product.id
    auth.login(stand.shop.owner.email)
    from tests.helpers import csrf_token

    url = f"/penjual/pesanan/{order.id}"
    client.post(url, data={"status": "cancelled", "note": "Stok habis",
                           "csrf_token": csrf_token(client, url)})
    db.session.refresh(order)
    assert order.refunded_at is not None and order.refunded_by_id == stand.shop.owner.id
    assert ledger.statement(stand.shop.id).net_sales == 0 and ledger.check() == []


def test_seller_sees_their_own_statement(client, auth, stand):
    cash_sale(stand, 50_000, "kunci-rekening-1")
    auth.login(stand.shop.owner.email)
    page = client.get("/penjual/rekening").get_data(as_text=True)
    assert 'data-balance="-1000"' in page and "Rp50.000" in page


def test_admin_records_a_payout_observer_cannot(client, auth, stand):
    from tests.helpers import csrf_token

    UserFactory(email="admin@contoh.id", roles=["admin"])
    UserFactory(email="auditor@contoh.id", roles=["observer"])
    url = f"/admin/toko/{stand.shop.id}/rekening"
    auth.login("auditor@contoh.id")
    page = client.get(url).get_data(as_text=True)
    assert client.get(url).status_code == 200 and "Catat transfer" not in page
    assert client.post(url, data={"amount": "10.000", "reference": "X", "paid_on": "2026-11-20",
                                  "csrf_token": csrf_token(client, url)}).status_code == 403
    auth.logout()
    auth.login("admin@contoh.id")
    bad = client.post(url, data={"amount": "sepuluh", "reference": "BCA 1", "paid_on": "2026-11-20",
                                 "csrf_token": csrf_token(client, url)})
    assert bad.status_code == 422 and "Tulis jumlah dalam rupiah" in bad.get_data(as_text=True)
    assert 'value="sepuluh"' in bad.get_data(as_text=True)
    ok = client.post(url, data={"amount": "250.000", "reference": "BCA 1", "paid_on": "2026-11-20",
                                "csrf_token": csrf_token(client, url)})
    assert ok.status_code == 303
    assert ledger.statement(stand.shop.id).payouts == -250_000 and ledger.check() == []


def test_statements_are_not_for_other_sellers(client, auth, stand):
    other = UserFactory(email="lain@contoh.id", roles=["seller"])
    auth.login(other.email)
    assert client.get(f"/admin/toko/{stand.shop.id}/rekening").status_code == 403
    assert client.get("/admin/rekening").status_code == 403
