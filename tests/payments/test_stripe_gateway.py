"""A shopper's payment through Stripe Checkout, told with the real SDK against the sandbox."""

from __future__ import annotations

import socket
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from storefront.payments.gateway import (
    CANCELLED,
    EXPIRED,
    FAILED,
    PAID,
    PENDING,
    GatewayUnavailable,
    PaymentError,
    gateway_from_config,
)
from storefront.payments.stripe_gateway import StripeGateway

from .conftest import API_KEY, WEBHOOK_SECRET, http_request, parse_page, press


def test_a_new_payment_is_pending_with_a_hosted_page(new_payment, sandbox):
    payment = new_payment(amount=15_000, reference="GR-PENDING-1")

    assert payment.status == PENDING
    assert payment.id.startswith("cs_test_")
    assert payment.amount == 15_000
    assert payment.reference == "GR-PENDING-1"
    assert payment.url == f"{sandbox.url}/pay/{payment.id}"
    assert payment.payment_intent is None  # Checkout makes it when the shopper pays
    status, _, html = http_request("GET", payment.url)
    assert status == 200 and "Rp15.000" in html


def test_rupiah_go_over_the_wire_in_minor_units(new_payment, sandbox):
    payment = new_payment(amount=15_000, metadata={"shop": "toko-bu-ani"})

    sent = sandbox.last_request("/v1/checkout/sessions")["params"]
    assert sent["line_items"][0]["price_data"] == {
        "currency": "idr", "unit_amount": "1500000",
        "product_data": {"name": "Kopi robusta Cisadane 250 g"}}
    assert sent["line_items"][0]["quantity"] == "1"
    assert sent["mode"] == "payment"
    assert sent["client_reference_id"] == payment.reference
    assert sent["metadata"] == {"shop": "toko-bu-ani", "reference": payment.reference}
    assert sent["payment_intent_data"] == {"metadata": {"reference": payment.reference}}
    assert 30 * 60 <= int(sent["expires_at"]) - time.time() <= 40 * 60
    assert payment.amount == 15_000  # and back to rupiah


def test_paying_on_the_hosted_page(new_payment, gateway, webhook_receiver):
    payment = new_payment()

    status, headers, _ = press(payment.url, "Bayar")

    assert status == 303
    assert headers["Location"] == f"http://gerai.test/bayar/selesai?sesi={payment.id}"
    paid = gateway.retrieve_payment(payment.id)
    assert paid.status == PAID and paid.url is None
    assert paid.payment_intent.startswith("pi_")
    [delivery] = webhook_receiver.wait_for("checkout.session.completed", payment.id)
    assert delivery.headers["Stripe-Signature"].startswith("t=")
    event = gateway.parse_webhook(delivery.body, delivery.headers)
    assert event.id == delivery.event["id"] and event.type == "checkout.session.completed"
    assert event.payment.id == payment.id
    assert event.payment.status == PAID
    assert event.payment.amount == 15_000
    assert event.payment.reference == payment.reference
    assert event.payment.payment_intent == paid.payment_intent


def test_a_paid_session_cannot_be_paid_again(new_payment, gateway, webhook_receiver):
    payment = new_payment()
    page = http_request("GET", payment.url)[2]
    assert press(payment.url, "Bayar")[0] == 303
    webhook_receiver.wait_for("checkout.session.completed", payment.id)

    form = [f for f in parse_page(page).forms if f["button"] == "Bayar"][0]
    again = http_request("POST", payment.url, form=form["fields"])

    assert again[0] == 409 and "sudah dibayar" in again[2]
    status, _, html = http_request("GET", payment.url)
    assert "Pembayaran berhasil" in html and not parse_page(html).forms
    assert len(webhook_receiver.about(payment.id)) == 1


def test_a_declined_card(new_payment, gateway, webhook_receiver):
    payment = new_payment()

    status, headers, _ = press(payment.url, "Tolak")

    assert status == 303 and urlsplit(headers["Location"]).path == urlsplit(payment.url).path
    page = http_request("GET", payment.url)[2]
    assert "Pembayaran ditolak" in page
    assert 'href="http://gerai.test/bayar/batal"' in page
    assert not parse_page(page).forms
    assert gateway.retrieve_payment(payment.id).status == FAILED
    [delivery] = webhook_receiver.wait_for("checkout.session.async_payment_failed", payment.id)
    event = gateway.parse_webhook(delivery.body, delivery.headers)
    assert event.payment.status == FAILED and event.payment.id == payment.id


def test_left_pending_then_paid_later(new_payment, gateway, webhook_receiver):
    payment = new_payment()

    status, headers, _ = press(payment.url, "Biarkan tertunda")

    assert status == 303 and parse_qs(urlsplit(headers["Location"]).query) == {"tertunda": ["1"]}
    assert "dibiarkan tertunda" in http_request("GET", payment.url + "?tertunda=1")[2]
    assert gateway.retrieve_payment(payment.id).status == PENDING
    assert webhook_receiver.about(payment.id) == []

    assert press(payment.url, "Bayar")[0] == 303
    assert gateway.retrieve_payment(payment.id).status == PAID
    webhook_receiver.wait_for("checkout.session.completed", payment.id)


def test_a_session_that_expires(new_payment, gateway, sandbox, webhook_receiver):
    payment = new_payment()

    sandbox.control(f"sessions/{payment.id}/expire")

    expired = gateway.retrieve_payment(payment.id)
    assert expired.status == EXPIRED and expired.url is None
    [delivery] = webhook_receiver.wait_for("checkout.session.expired", payment.id)
    assert gateway.parse_webhook(delivery.body, delivery.headers).payment.status == EXPIRED
    page = http_request("GET", payment.url)[2]
    assert "kedaluwarsa" in page and not parse_page(page).forms


def test_a_session_expires_by_itself_when_its_time_is_up(new_payment, gateway, sandbox,
                                                        webhook_receiver):
    payment = new_payment()

    sandbox.control(f"sessions/{payment.id}/lapse")  # its expires_at is now in the past

    assert gateway.retrieve_payment(payment.id).status == EXPIRED
    webhook_receiver.wait_for("checkout.session.expired", payment.id)
    status, _, html = http_request("POST", payment.url, form={"token": "x", "choice": "pay"})
    assert status in (400, 409)


def test_cancelling_a_pending_payment(new_payment, gateway, webhook_receiver):
    payment = new_payment()

    cancelled = gateway.cancel_payment(payment.id)

    assert cancelled.status == CANCELLED and cancelled.id == payment.id
    assert cancelled.reference == payment.reference
    # Stripe keeps a cancelled Checkout Session as "expired"; both are final and unpaid.
    assert gateway.retrieve_payment(payment.id).status == EXPIRED
    webhook_receiver.wait_for("checkout.session.expired", payment.id)
    assert gateway.cancel_payment(payment.id).status == EXPIRED  # again: nothing changes


def test_a_paid_payment_cannot_be_cancelled(new_payment, gateway):
    payment = new_payment()
    press(payment.url, "Bayar")

    with pytest.raises(PaymentError) as refused:
        gateway.cancel_payment(payment.id)
    assert "sudah lunas" in refused.value.message


def test_refunds_partial_then_the_rest_then_nothing_more(new_payment, gateway,
                                                         webhook_receiver):
    payment = new_payment(amount=15_000)
    press(payment.url, "Bayar")
    paid = gateway.retrieve_payment(payment.id)

    partial = gateway.refund(paid, 5_000, idempotency_key=f"refund-1-{payment.id}")
    rest = gateway.refund(paid, idempotency_key=f"refund-2-{payment.id}")

    assert partial.id.startswith("re_") and (partial.amount, partial.status) == (5_000, "succeeded")
    assert (rest.amount, rest.status) == (10_000, "succeeded")
    with pytest.raises(PaymentError):
        gateway.refund(paid, 1_000, idempotency_key=f"refund-3-{payment.id}")
    deliveries = webhook_receiver.wait_for("charge.refunded", _charge_of(webhook_receiver, paid),
                                           count=2)
    events = [gateway.parse_webhook(d.body, d.headers) for d in deliveries]
    assert [e.data["amount_refunded"] for e in events] == [5_000, 15_000]
    assert events[-1].data["refunded"] is True
    assert events[-1].data["payment_intent"] == paid.payment_intent
    assert events[-1].data["reference"] == payment.reference


def _charge_of(receiver, paid) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for delivery in receiver.deliveries:
            obj = delivery.event["data"]["object"]
            if obj["object"] == "charge" and obj["payment_intent"] == paid.payment_intent:
                return obj["id"]
        time.sleep(0.02)
    raise AssertionError("no charge.refunded event")


def test_refunding_more_than_was_paid_is_refused(new_payment, gateway):
    payment = new_payment(amount=15_000)
    press(payment.url, "Bayar")
    paid = gateway.retrieve_payment(payment.id)

    with pytest.raises(PaymentError) as refused:
        gateway.refund(paid, 15_001, idempotency_key=f"over-{payment.id}")
    assert "amount_too_large" in str(refused.value)
    full = gateway.refund(paid, idempotency_key=f"full-{payment.id}")
    assert full.amount == 15_000


def test_an_unpaid_payment_has_nothing_to_refund(new_payment, gateway):
    payment = new_payment()
    with pytest.raises(PaymentError):
        gateway.refund(payment, idempotency_key=f"early-{payment.id}")


def test_a_retried_create_returns_the_same_payment(new_payment, sandbox):
    first = new_payment(reference="GR-RETRY", idempotency_key="checkout-GR-RETRY-try")
    again = new_payment(reference="GR-RETRY", idempotency_key="checkout-GR-RETRY-try")

    assert again.id == first.id and again.url == first.url
    assert len([r for r in sandbox.state.requests
                if r["idempotency_key"] == "checkout-GR-RETRY-try"]) == 2


def test_the_same_key_with_another_amount_is_refused(new_payment):
    new_payment(amount=15_000, reference="GR-KEY", idempotency_key="checkout-GR-KEY")

    with pytest.raises(PaymentError) as refused:
        new_payment(amount=25_000, reference="GR-KEY", idempotency_key="checkout-GR-KEY")
    assert "IdempotencyError" in str(refused.value)


@pytest.mark.parametrize("call", ["retrieve_payment", "cancel_payment"])
def test_an_unknown_payment(gateway, call):
    with pytest.raises(PaymentError) as refused:
        getattr(gateway, call)("cs_test_nobody")
    assert type(refused.value) is PaymentError
    assert "resource_missing" in str(refused.value)


def test_an_unreachable_gateway_fails_fast():
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = StripeGateway(API_KEY, f"http://127.0.0.1:{port}", WEBHOOK_SECRET, timeout=1.0,
                            max_network_retries=0)
    started = time.monotonic()
    try:
        with pytest.raises(GatewayUnavailable) as unavailable:
            gateway.create_payment(amount=15_000, reference="GR-DOWN", description="Kopi",
                                   success_url="http://gerai.test/ok",
                                   cancel_url="http://gerai.test/batal",
                                   idempotency_key="down-1")
    finally:
        gateway.close()
    assert time.monotonic() - started < 2
    assert "Keranjang Anda aman" in unavailable.value.message


def test_a_gateway_answering_5xx_is_unavailable(webhook_receiver):
    gateway = StripeGateway(API_KEY, f"{webhook_receiver.url}/broken", WEBHOOK_SECRET,
                            timeout=2.0, max_network_retries=0)
    try:
        with pytest.raises(GatewayUnavailable):
            gateway.retrieve_payment("cs_test_anything")
    finally:
        gateway.close()


def test_a_live_key_is_refused_by_the_sandbox(sandbox):
    gateway = StripeGateway("sk_live_not_here", sandbox.url, WEBHOOK_SECRET,
                            max_network_retries=0)
    try:
        with pytest.raises(PaymentError) as refused:
            gateway.retrieve_payment("cs_test_anything")
    finally:
        gateway.close()
    assert "AuthenticationError" in str(refused.value)


def test_gateways_coexist_without_global_settings(sandbox, gateway):
    import stripe

    before = (stripe.api_key, stripe.api_base)
    other = StripeGateway("sk_test_other", "https://api.stripe.com", "whsec_other")
    other.close()
    assert (stripe.api_key, stripe.api_base) == before


def test_gateways_from_configuration():
    import storefront.payments.cash  # noqa: F401 (importing a gateway module registers it)
    from storefront.payments.sandbox import create_sandbox_app

    from .conftest import Served

    # The configured "sandbox" gateway sends Gerai's development key, which a sandbox
    # made without a key answers (as the one mounted in development does).
    own = Served(create_sandbox_app(webhook_url=None, webhook_secret=WEBHOOK_SECRET))
    sandbox_gateway = gateway_from_config({
        "PAYMENT_GATEWAY": "sandbox", "SANDBOX_GATEWAY_URL": own.url,
        "SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET})
    try:
        assert sandbox_gateway.name == "sandbox"
        payment = sandbox_gateway.create_payment(
            amount=5_000, reference="GR-CFG", description="Keripik", idempotency_key="cfg-1",
            success_url="http://gerai.test/ok", cancel_url="http://gerai.test/batal")
        assert payment.status == PENDING
    finally:
        sandbox_gateway.close()
        own.close()
    real = gateway_from_config({"PAYMENT_GATEWAY": "stripe", "STRIPE_API_KEY": "sk_test_x",
                                "STRIPE_WEBHOOK_SECRET": "whsec_x"})
    real.close()
    assert real.name == "stripe"
    with pytest.raises(ValueError, match="STRIPE_API_KEY"):
        gateway_from_config({"PAYMENT_GATEWAY": "stripe", "STRIPE_API_KEY": "",
                             "STRIPE_WEBHOOK_SECRET": "whsec_x"})
    assert gateway_from_config({"PAYMENT_GATEWAY": "cash"}).name == "cash"


def test_a_create_retried_from_another_process_sends_the_same_deadline(sandbox, monkeypatch):
    from storefront.payments import stripe_gateway

    clock = [1_800_000_017.0]
    monkeypatch.setattr(stripe_gateway, "_now", lambda: clock[0])
    one, two = (StripeGateway(API_KEY, sandbox.url, WEBHOOK_SECRET) for _ in range(2))
    deadlines = []
    for gateway in (one, two):
        deadlines.append(gateway._expires_at("checkout-GR-OTHER-PROCESS", 30))
        clock[0] += 7  # the retry comes seconds later, from a gateway that remembers nothing
        gateway.close()

    assert deadlines[0] == deadlines[1]
    assert deadlines[0] % 300 == 0
    assert 31 * 60 <= deadlines[0] - 1_800_000_017 <= 36 * 60
    assert one._expires_at("k", 24 * 60) - clock[0] <= 24 * 60 * 60 - 60
    assert one._expires_at("k2", 10) - clock[0] == 10 * 60  # out of range: Stripe will refuse


def test_the_sandbox_mounted_under_a_prefix(webhook_receiver):
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from storefront.payments.sandbox import create_sandbox_app

    from .conftest import Served

    host = Flask("host")
    host.wsgi_app = DispatcherMiddleware(host.wsgi_app, {
        "/sandbox-gateway": create_sandbox_app(webhook_url=None, webhook_secret=WEBHOOK_SECRET,
                                               secret_key=API_KEY)})
    served = Served(host)
    gateway = StripeGateway(API_KEY, f"{served.url}/sandbox-gateway", WEBHOOK_SECRET)
    try:
        payment = gateway.create_payment(
            amount=7_500, reference="GR-MOUNT", description="Tahu Sumedang",
            success_url="http://gerai.test/ok", cancel_url="http://gerai.test/batal",
            idempotency_key="mount-1")
        assert payment.url == f"{served.url}/sandbox-gateway/pay/{payment.id}"
        html = http_request("GET", payment.url)[2]
        assert 'href="/sandbox-gateway/_assets/pay.css"' in html
        assert press(payment.url, "Bayar")[0] == 303
        assert gateway.retrieve_payment(payment.id).status == PAID
    finally:
        gateway.close()
        served.close()
