"""A till that was offline sends its queued cash sale again and again, sometimes from
several tabs at once (issue 13.5). Over real HTTP, with requests that really overlap:
every answer is the one sale (201 for the request that made it, 200 for the rest), the
sale is recorded once, its stock taken once, and the ledger counts it once."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import func, select

from storefront.catalogue.models import Product
from storefront.checkout.models import Purchase
from storefront.exhibitions.models import Fair, Stand, StandItem
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import LedgerEntry
from storefront.orders.models import Order
from tests.conftest import TEST_PASSWORD
from tests.factories import ProductFactory, ShopFactory, UserFactory

AT_ONCE = 5
# On SQLite, ring_up's SAVEPOINT is the first write of its transaction, and pysqlite has
# not sent BEGIN yet (it does so only before INSERT/UPDATE/DELETE): the SAVEPOINT opens
# the transaction and its RELEASE commits it. The purchase and order are committed as
# pending before stock is held and cash counted, so a duplicate arriving then answers
# "pending", and a sale refused afterwards (stock short) stays behind as a pending ghost
# that the same key then returns. The fix belongs in exhibitions/till.py (see issue 13.5).
ROUNDS = 4  # one overlap can miss the race; four seldom all do
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture
def stand(app):
    keeper = UserFactory(email="kasir@contoh.id", roles=["shopper", "seller"])
    shop = ShopFactory(owner=keeper, name="Kopi Pak Dul")
    kopi = ProductFactory(shop=shop, name="Kopi Susu Gula Aren", price=18_000, stock=50)
    fair = Fair(name="Pameran Paralel", slug="pameran-paralel", venue="Alun-alun",
                starts_on=date.today(), ends_on=date.today() + timedelta(days=1))
    stand = Stand(fair=fair, code="P-01", shop=shop)
    db.session.add_all([fair, stand])
    db.session.flush()
    item = StandItem(stand_id=stand.id, product_id=kopi.id)
    db.session.add(item)
    db.session.commit()
    return {"item_id": item.id, "product_id": kopi.id, "url": "/pameran/pameran-paralel/P-01"}


def _keeper_tabs(base: str, stand: dict, count: int) -> tuple[list[requests.Session], str]:
    """The keeper logged in through the real form; ``count`` tabs sharing that login."""
    first = requests.Session()
    page = first.get(f"{base}/masuk", timeout=10).text
    first.post(f"{base}/masuk", timeout=10, data={
        "email": "kasir@contoh.id", "password": TEST_PASSWORD,
        "csrf_token": _TOKEN.search(page).group(1)})
    till_page = first.get(f"{base}{stand['url']}/kasir", timeout=10)
    assert till_page.status_code == 200, till_page.status_code
    token = _TOKEN.search(till_page.text).group(1)
    tabs = [first]
    for _ in range(count - 1):
        tab = requests.Session()
        tab.cookies.update(first.cookies)
        tabs.append(tab)
    return tabs, token


def test_the_same_cash_sale_sent_at_once_is_one_sale(request, database_url, live_app, stand):
    tabs, token = _keeper_tabs(live_app, stand, AT_ONCE)
    start = threading.Barrier(AT_ONCE)

    def send(tab: requests.Session, key: str) -> requests.Response:
        start.wait(timeout=10)
        return tab.post(f"{live_app}{stand['url']}/kasir/jual", timeout=30,
                        headers={"Accept": "application/json"},
                        data={"metode": "cash", "kunci": key, "diterima": "50.000",
                              f"q-{stand['item_id']}": "2", "csrf_token": token})

    answers: dict[str, list[requests.Response]] = {}
    with ThreadPoolExecutor(AT_ONCE) as pool:
        for round_ in range(ROUNDS):
            key = f"antrean-luring-{round_:02d}"
            answers[key] = list(pool.map(send, tabs, [key] * AT_ONCE))

    for key, responses in answers.items():
        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {200, 201}, (key, statuses, [r.text[:300] for r in responses])
        assert statuses.count(201) == 1, (key, statuses)
        bodies = [r.json() for r in responses]
        assert len({(b["code"], b["order"]) for b in bodies}) == 1, (key, bodies)
        assert {(b["total"], b["status"], b["change"]) for b in bodies} == {(36_000, "paid", 14_000)}, [(r.status_code, r.json()["status"], r.json()["new"]) for r in responses]
        assert [b["new"] for b in bodies].count(True) == 1, (key, bodies)

    db.session.expire_all()
    codes = {responses[0].json()["code"] for responses in answers.values()}
    purchases = db.session.scalars(select(Purchase)).all()
    assert {p.code for p in purchases} == codes and len(purchases) == ROUNDS
    orders = db.session.scalars(select(Order)).all()
    assert len(orders) == ROUNDS and all(o.paid_at is not None for o in orders)
    assert db.session.get(Product, stand["product_id"]).stock == 50 - 2 * ROUNDS
    # The ledger: each sale once (its sale lines and the cash the stand took), and balanced.
    sales = db.session.execute(
        select(LedgerEntry.order_id, func.sum(LedgerEntry.amount), func.count())
        .where(LedgerEntry.kind == "sale").group_by(LedgerEntry.order_id)).all()
    assert sorted((amount, count) for _order, amount, count in sales) == [(36_000, 1)] * ROUNDS
    assert ledger.check() == []


def test_a_refused_sale_leaves_nothing_behind(request, database_url, live_app, stand):
    """Refused after the sale's rows were written (not enough stock): nothing stays, so the
    same key sent again later is a new sale, not the ghost of the refused one."""
    (tab,), token = _keeper_tabs(live_app, stand, 1)

    def send(quantity: int) -> requests.Response:
        return tab.post(f"{live_app}{stand['url']}/kasir/jual", timeout=30,
                        headers={"Accept": "application/json"},
                        data={"metode": "cash", "kunci": "antrean-luring-sisa",
                              f"q-{stand['item_id']}": str(quantity), "csrf_token": token})

    refused = send(51)
    assert refused.status_code == 422 and "Stok tidak cukup" in refused.json()["errors"]["jual"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Purchase)) == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    again = send(1)
    assert (again.status_code, again.json()["status"], again.json()["new"]) == (201, "paid", True)
