"""Webhooks out, checked by an independent receiver: a small HTTP server that verifies the
signature (HMAC-SHA256 over "timestamp.body" with the subscription's secret), refuses old
timestamps, and applies each event id once."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from storefront.api import webhooks
from storefront.api.models import WebhookDelivery, WebhookSubscription
from storefront.exhibitions.models import Fair, Stand
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.seller import services as seller
from storefront.timeutil import utcnow
from tests.api.conftest import api_checkout, pay_in_the_sandbox
from tests.helpers import QuietHandler, ring_up

SECRET = "whsec_receiver_knows_this"


class Receiver:
    """What a client app runs: verify, dedupe by event id, then accept."""

    def __init__(self, secret: str, port: int):
        self.secret, self.events, self.seen, self.refused = secret.encode(), [], set(), 0
        self.server = make_server("127.0.0.1", port, self, threaded=True,
                                  request_handler=QuietHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        fields = dict(part.split("=", 1) for part in
                      environ.get("HTTP_GERAI_SIGNATURE", "").split(",") if "=" in part)
        stamp = int(fields.get("t", "0"))
        expected = hmac.new(self.secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        event_id = environ.get("HTTP_GERAI_EVENT_ID", "")
        if not hmac.compare_digest(expected, fields.get("v1", "")) or abs(time.time() - stamp) > 300:
            self.refused += 1
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"bad signature"]
        if event_id not in self.seen:
            self.seen.add(event_id)
            event = json.loads(body)
            assert event["id"] == event_id
            self.events.append(event)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def subscribe(issue_key):
    def make(port: int, secret: str = SECRET, events=("order.paid", "order.ready_for_pickup",
                                                      "stand.sale")):
        key, _token = issue_key()
        db.session.add(WebhookSubscription(api_key_id=key.id, url=f"http://127.0.0.1:{port}/hook",
                                           secret=secret, events=" ".join(events)))
        db.session.commit()
    return make


@pytest.fixture
def receiver():
    made = []

    def start(port: int, secret: str = SECRET) -> Receiver:
        made.append(Receiver(secret, port))
        return made[-1]
    yield start
    for server in made:
        server.close()


def test_paid_ready_and_stand_sale_arrive_signed(client, qris_app, catalogue, api_key,
                                                 xendit_server, subscribe, receiver):
    port = free_port()
    hooks = receiver(port)
    subscribe(port)
    _cart, answer = api_checkout(client, api_key, [{"product_id": catalogue.keripik.id,
                                                    "quantity": 2}])
    assert webhooks.deliver_due() == 0  # nothing happened yet: a pending payment is no event
    pay_in_the_sandbox(xendit_server, answer.json["code"])
    assert webhooks.deliver_due() == 1
    paid = hooks.events[0]
    assert paid["type"] == "order.paid"
    assert paid["data"]["order"]["purchase"] == answer.json["code"]
    assert paid["data"]["order"]["total"] == 30_000

    order = db.session.scalar(select(Order).where(Order.code == paid["data"]["order"]["code"]))
    seller.advance_order(order, "processing")
    seller.advance_order(order, "ready")
    db.session.commit()
    assert webhooks.deliver_due() == 1
    assert hooks.events[1]["type"] == "order.ready_for_pickup"

    fair = Fair(name="Pameran Situ", slug="pameran-situ", venue="Situ Cipondoh",
                starts_on=date.today(), ends_on=date.today() + timedelta(days=1))
    stand = Stand(fair=fair, code="A-01", shop=catalogue.keripik.shop)
    db.session.add_all([fair, stand])
    db.session.commit()
    ring_up(stand, [], 12_000, method="cash", key="webhook-cash-0001")
    assert webhooks.deliver_due() == 1
    sale = hooks.events[2]
    assert sale["type"] == "stand.sale"
    assert sale["data"]["order"]["stand"] == "A-01" and sale["data"]["order"]["total"] == 12_000
    assert hooks.refused == 0 and webhooks.deliver_due() == 0


def test_a_receiver_that_is_down_gets_the_event_later_once(client, qris_app, catalogue, api_key,
                                                            xendit_server, subscribe, receiver):
    port = free_port()  # nobody listens there yet
    subscribe(port)
    _cart, answer = api_checkout(client, api_key, [{"product_id": catalogue.kopi.id,
                                                    "quantity": 1}])
    pay_in_the_sandbox(xendit_server, answer.json["code"])
    assert webhooks.deliver_due() == 0
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.attempts == 1 and delivery.status == "pending"
    assert delivery.log[0].error and delivery.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert webhooks.deliver_due() == 0  # not due again yet: backoff
    db.session.refresh(delivery)
    assert delivery.attempts == 1

    hooks = receiver(port)  # back up
    later = utcnow() + timedelta(minutes=1)
    assert webhooks.deliver_due(now=later) == 1
    assert webhooks.deliver_due(now=later + timedelta(days=2)) == 0
    assert [e["type"] for e in hooks.events] == ["order.paid"]
    db.session.refresh(delivery)
    assert delivery.status == "delivered" and delivery.attempts == 2


def test_a_receiver_with_another_secret_refuses_and_the_delivery_is_retried(
        client, qris_app, catalogue, api_key, xendit_server, subscribe, receiver):
    port = free_port()
    hooks = receiver(port, secret="whsec_not_the_one_gerai_signs_with")
    subscribe(port)
    _cart, answer = api_checkout(client, api_key, [{"product_id": catalogue.kopi.id,
                                                    "quantity": 1}])
    pay_in_the_sandbox(xendit_server, answer.json["code"])
    assert webhooks.deliver_due() == 0
    assert hooks.refused == 1 and hooks.events == []
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.status == "pending" and delivery.last_status_code == 400


def test_without_subscribers_nothing_is_written(client, qris_app, catalogue, api_key,
                                                xendit_server):
    _cart, answer = api_checkout(client, api_key, [{"product_id": catalogue.kopi.id,
                                                    "quantity": 1}])
    pay_in_the_sandbox(xendit_server, answer.json["code"])
    assert db.session.scalar(select(WebhookDelivery)) is None
    assert webhooks.deliver_due() == 0
