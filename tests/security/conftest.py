"""A small city with two sides, Alfa and Bravo, for the security matrices.

Every private thing of the Bravo side carries the marker ``Bravo-rahasia`` (a draft
product, buyers' names, an import file, a stand sale): no answer to anyone outside
Bravo's own people and the city office may contain it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import inspect, text

from storefront.basket.models import Basket, BasketLine
from storefront.catalogue.models import ProductImage
from storefront.checkout.models import Purchase
from storefront.cooperatives import services as coops
from storefront.exhibitions import till
from storefront.exhibitions.models import Fair, Stand, StandItem
from storefront.extensions import db
from storefront.orders.models import Order, OrderLine
from storefront.seller.import_models import ImportJob
from storefront.timeutil import utcnow
from tests.factories import CategoryFactory, ProductFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token, ring_up

SECRET = "Bravo-rahasia"
ACTORS = ("anonymous", "shopper_a", "shopper_b", "seller_a", "seller_b", "manager_a",
          "manager_b", "organizer", "admin", "observer")


@dataclass
class World:
    ids: dict = field(default_factory=dict)  # what the routes need, of the Bravo side
    emails: dict = field(default_factory=dict)


def _purchase(buyer, shop, product, name: str) -> Purchase:
    purchase = Purchase(code=f"GR-{name[:6].upper()}-1", attempt=f"attempt-{name}",
                        buyer_id=buyer.id, buyer_name=name, buyer_whatsapp="+6281111111111",
                        total=product.price, gateway="cash", status="pending",
                        expires_at=utcnow() + timedelta(days=1))
    order = Order(code=f"P-{name[:6].upper()}-1", shop_id=shop.id, purchase=purchase,
                  buyer_id=buyer.id, buyer_name=name, buyer_whatsapp="+6281111111111",
                  status="new", subtotal=product.price, total=product.price, paid_at=utcnow())
    order.lines.append(OrderLine(product_id=product.id, name=product.name,
                                 unit_price=product.price, quantity=1, line_total=product.price))
    db.session.add_all([purchase, order])
    return purchase


@pytest.fixture
def world(app) -> World:
    from storefront.observability import worker_seen

    worker_seen()  # a running deployment: /siap answers 200, as every other page does
    return build_world()


def build_world(tag: str = "") -> World:
    """The small city, written in the current app's database (the session commits);
    ``tag`` sets its people's addresses apart from others' (the demo has an admin@)."""
    w = World()
    people = {name: UserFactory(email=f"{name}{tag}@gerai.test", roles=roles) for name, roles in {
        "shopper_a": ["shopper"], "shopper_b": ["shopper"], "seller_a": ["shopper", "seller"],
        "seller_b": ["shopper", "seller"], "manager_a": ["shopper"], "manager_b": ["shopper"],
        "organizer": ["organizer"], "admin": ["admin"], "observer": ["observer"]}.items()}
    w.emails = {name: user.email for name, user in people.items()}
    category = CategoryFactory(name="Makanan Ringan")
    shops = {side: ShopFactory(owner=people[f"seller_{side}"], name=f"Toko {label}",
                               kecamatan="Cipondoh", kelurahan="Ketapang")
             for side, label in (("a", "Alfa"), ("b", "Bravo"))}
    pending = ShopFactory(name="Toko Menunggu", verified=False, status="pending")
    products = {side: ProductFactory(shop=shops[side], category=category, name=f"Keripik {side}",
                                     price=20_000, stock=50) for side in "ab"}
    draft_b = ProductFactory(shop=shops["b"], category=category, name=f"Draf {SECRET}",
                             status="draft")
    image_b = ProductImage(product_id=products["b"].id, position=0, key="a" * 64, alt="foto",
                           width=640, height=480)
    db.session.add(image_b)
    job_b = ImportJob(shop_id=shops["b"].id, user_id=people["seller_b"].id,
                      filename=f"{SECRET}.csv", content=b"nama,harga\n", status="pending")
    db.session.add(job_b)
    purchase_b = _purchase(people["shopper_b"], shops["b"], products["b"], f"Pembeli {SECRET}")
    basket_b = Basket(user_id=people["shopper_b"].id)
    basket_b.lines.append(BasketLine(product_id=products["a"].id, quantity=1, price_seen=20_000))
    db.session.add(basket_b)
    db.session.commit()

    fair = Fair(name="Pameran Uji", slug="pameran-uji", venue="Situ",
                starts_on=date.today(), ends_on=date.today() + timedelta(days=1))
    stands = {side: Stand(fair=fair, code=f"{side.upper()}-01", shop=shops[side]) for side in "ab"}
    db.session.add_all([fair, *stands.values()])
    db.session.flush()
    db.session.add_all(StandItem(stand_id=stands[s].id, product_id=products[s].id) for s in "ab")
    db.session.commit()
    sale_b, _ = ring_up(stands["b"], [], 15_000, method="cash", key="security-sale-b")
    charge_b, _ = ring_up(stands["b"], till_lines(stands["b"]), 0, method="qr",
                               key="security-charge-b")

    coop = {side: coops.create(f"Koperasi {label}", f"AHU-{label}", "Cipondoh", "Ketapang",
                               people["admin"], managers=[people[f"manager_{side}"]])
            for side, label in (("a", "Alfa"), ("b", "Bravo"))}
    membership_b = coops.invite(coop["b"], shops["b"], people["manager_b"])
    db.session.commit()
    from storefront.api import keys as api_keys
    from storefront.api.models import WebhookSubscription

    api_key, _token = api_keys.issue("Klien Uji", "Dinas", ["orders:read"], 60)
    hook = WebhookSubscription(api_key_id=api_key.id, url="https://klien.example/hook",
                               secret="whsec_uji", events="order.paid")
    db.session.add(hook)
    db.session.commit()
    w.ids = {
        "shop_id": shops["b"].id, "pending_shop_id": pending.id, "product_id": draft_b.id,
        "public_product_id": products["b"].id, "image_id": image_b.id, "job_id": job_b.id,
        "order_id": purchase_b.orders[0].id, "purchase_code": purchase_b.code,
        "line_id": basket_b.lines[0].id, "fair": fair.slug, "stand": stands["b"].code,
        "sale": sale_b.orders[0].code, "charge": charge_b.code, "pay_token": charge_b.pay_token,
        "coop": coop["b"].slug, "membership_id": membership_b.id,
        "category_id": category.id, "user_id": people["shopper_b"].id,
        "product_slug": products["b"].slug, "shop_slug": shops["b"].slug,
        "api_key_id": api_key.id, "webhook_id": hook.id,
    }
    w.ids.update(cooperative_members(coop["b"], people))
    return w


def till_lines(stand):
    return [till.SaleLine(item, 1) for item in till.stand_items(stand)]


def login(client, auth, world: World, actor: str):
    if actor != "anonymous":
        auth.login(world.emails[actor])
    return client


def post_with_token(client, url: str, data: dict | None = None, page: str = "/", **kwargs):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client, page)}, **kwargs)


def fingerprint() -> dict[str, list]:
    """Every row of every table: what "changes nothing" is checked against."""
    tables = inspect(db.engine).get_table_names()
    rows = {}
    for table in sorted(tables):
        if table == "alembic_version":
            continue
        query = f'SELECT * FROM "{table}"'
        if table == "audit_entry":  # a staff look at a member's page is logged (UU PDP)
            query += " WHERE action != 'member.view'"
        rows[table] = sorted(map(repr, db.session.execute(text(query)).all()))
    db.session.rollback()
    return rows


def cooperative_members(coop, people) -> dict:
    """Bravo's cooperative keeps a register: shopper_b is its member (with a loan applied
    for, savings, a withdrawal asked for, a cash payment); manager_b runs it."""
    from storefront.members import services as members

    member = members.register(coop, name=f"Anggota {SECRET}", user=people["shopper_b"],
                              email=people["shopper_b"].email, actor=people["manager_b"])
    loan = members.apply_for_loan(member, 500_000, 5, f"Usaha {SECRET}")
    members.deposit(member, 50_000, people["manager_b"])
    withdrawal = members.request_withdrawal(member, 10_000)
    payment = members.record_cash(member, 20_000, people["manager_b"])
    # registered by the cooperative with shopper_a's email before she had an account
    invited = members.register(coop, name="Undangan", actor=people["manager_b"])
    invited.email = people["shopper_a"].email
    db.session.commit()
    return {"member_id": member.id, "loan_id": loan.id, "withdrawal_id": withdrawal.id,
            "receipt_id": payment.id, "staff_email": people["seller_a"].email,
            "invited_id": invited.id}
