import json
import time
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import requests

from storefront.catalogue.models import Product
from storefront.exhibitions.models import Fair, Stand, StandItem
from storefront.extensions import db
from tests.factories import CategoryFactory, ProductFactory, ShopFactory, UserFactory
from tests.helpers import Served, sync_search


@dataclass
class Catalogue:
    keripik: Product
    kopi: Product
    sambal: Product  # out of stock, still visible
    draft: Product  # hidden: draft
    unverified: Product  # hidden: shop not verified
    archived: Product  # hidden: archived


@pytest.fixture
def catalogue(app) -> Catalogue:
    makanan = CategoryFactory(name="Makanan", slug="makanan")
    camilan = CategoryFactory(name="Keripik & Camilan", slug="keripik-camilan", parent=makanan)
    bumbu = CategoryFactory(name="Sambal & Bumbu", slug="sambal-bumbu", parent=makanan)
    minuman = CategoryFactory(name="Minuman", slug="minuman")
    kopi = CategoryFactory(name="Kopi", slug="kopi", parent=minuman)
    umkm = ShopFactory(name="Dapur Bu Sri", slug="dapur-bu-sri", kecamatan="Cipondoh",
                       kelurahan="Ketapang")
    koperasi = ShopFactory(name="Koperasi Warga Cimone", slug="koperasi-warga-cimone",
                           type="koperasi", kecamatan="Karawaci", kelurahan="Cimone")
    hidden_shop = ShopFactory(name="Toko Belum Diverifikasi", slug="toko-belum",
                              kecamatan="Benda", kelurahan="Benda", verified=False)
    made = Catalogue(
        keripik=ProductFactory(name="Keripik Pedas Level 5", shop=umkm, category=camilan,
                               price=15_000, stock=30),
        kopi=ProductFactory(name="Kopi Robusta Bubuk 250 g", shop=koperasi, category=kopi,
                            price=45_000, stock=12),
        sambal=ProductFactory(name="Sambal Bawang Extra Pedas", shop=umkm, category=bumbu,
                              price=25_000, stock=0),
        draft=ProductFactory(name="Keripik Rahasia Draft", shop=umkm, category=camilan,
                             status="draft"),
        unverified=ProductFactory(name="Kopi Tersembunyi Benda", shop=hidden_shop, category=kopi,
                                  price=30_000),
        archived=ProductFactory(name="Keripik Lama Arsip", shop=koperasi, category=camilan,
                                status="archived"),
    )
    sync_search()
    return made


# --- the payment sandbox, for checkout tests --------------------------------------------

SANDBOX_SECRET = "whsec_gerai_checkout_tests"


@pytest.fixture(scope="session")
def sandbox_server():
    """The Stripe-compatible sandbox on its own loopback port. It delivers no webhooks
    by itself: tests post its signed events to Gerai, so replays and order are theirs."""
    from storefront.payments.sandbox import create_sandbox_app

    served = Served(create_sandbox_app(webhook_url=None, webhook_secret=SANDBOX_SECRET))
    yield served
    served.close()


@pytest.fixture
def sandbox_app(app, sandbox_server):
    app.config.update(PAYMENT_GATEWAY="sandbox", SANDBOX_GATEWAY_URL=sandbox_server.url,
                      SANDBOX_WEBHOOK_SECRET=SANDBOX_SECRET, PAYMENT_GATEWAY_RETRIES=0,
                      PAYMENT_GATEWAY_TIMEOUT=5)
    app.extensions["gerai.gateway"] = None
    return app


class SandboxControl:
    """What a person does on the sandbox's hosted page, and the events it signs."""

    def __init__(self, url: str):
        self.url = url
        self._seen = {e["id"] for e in self._all_events()}

    def _all_events(self) -> list[dict]:
        response = requests.get(f"{self.url}/v1/events", params={"limit": 100},
                                headers={"Authorization": "Bearer sk_test_sandbox"}, timeout=5)
        response.raise_for_status()
        return list(reversed(response.json()["data"]))  # oldest first

    def _act(self, session_id: str, action: str) -> None:
        requests.post(f"{self.url}/_sandbox/sessions/{session_id}/{action}",
                      headers={"Authorization": "Bearer sk_test_sandbox"}, timeout=5).raise_for_status()

    def pay(self, session_id):
        self._act(session_id, "pay")

    def decline(self, session_id):
        self._act(session_id, "decline")

    def expire(self, session_id):
        self._act(session_id, "expire")

    def sign(self, body: bytes, secret: str = SANDBOX_SECRET) -> str:
        from storefront.payments.sandbox.delivery import signature_header

        return signature_header(body, secret)

    def _signed(self, event: dict) -> dict:
        body = json.dumps(event).encode()
        return {"id": event["id"], "type": event["type"], "body": body, "signature": self.sign(body)}

    def events(self) -> list[dict]:
        """Events made since this test began, oldest first, signed as the gateway sends them."""
        return [self._signed(e) for e in self._all_events() if e["id"] not in self._seen]

    def forge_event(self, event_type: str, session_id: str) -> dict:
        """A correctly signed event the gateway might send late (e.g. a stale 'expired')."""
        session = requests.get(f"{self.url}/v1/checkout/sessions/{session_id}",
                               headers={"Authorization": "Bearer sk_test_sandbox"}, timeout=5).json()
        session["status"] = "expired" if event_type.endswith("expired") else session["status"]
        return self._signed({"id": f"evt_forged_{session_id}_{event_type}", "object": "event",
                             "type": event_type, "created": int(time.time()),
                             "data": {"object": session}, "livemode": False})


@pytest.fixture
def sandbox(sandbox_app, sandbox_server):
    return SandboxControl(sandbox_server.url)


@pytest.fixture
def live_app(app):
    """Gerai itself over HTTP on loopback, for requests that must really run in parallel."""
    served = Served(app)
    app.config["SERVER_NAME"] = None
    yield served.url
    served.close()


# --- a fair stand and its keeper (tests/functional/test_fair_till.py and the QRIS tests) ---

@pytest.fixture
def stand(app):
    keeper = UserFactory(email="sri@contoh.id", roles=["shopper", "seller"])
    shop = ShopFactory(owner=keeper, name="Keripik Bu Sri")
    keripik = ProductFactory(shop=shop, name="Keripik Tempe", price=15_000, stock=10)
    kopi = ProductFactory(shop=shop, name="Kopi Robusta", price=40_000, stock=5)
    fair = Fair(name="Pameran Situ", slug="pameran-situ", venue="Situ Cipondoh",
                starts_on=date.today(), ends_on=date.today() + timedelta(days=2))
    stand = Stand(fair=fair, code="A-01", shop=shop)
    db.session.add_all([fair, stand])
    db.session.flush()
    db.session.add_all([StandItem(stand_id=stand.id, product_id=keripik.id),
                        StandItem(stand_id=stand.id, product_id=kopi.id, fair_stock=3)])
    db.session.commit()
    return {"stand": stand, "keripik": keripik, "kopi": kopi, "url": "/pameran/pameran-situ/A-01"}


@pytest.fixture
def keeper(client, auth, stand):
    auth.login("sri@contoh.id")
    return client
