"""The sandbox speaks Stripe's wire protocol, so the SDK cannot tell it from Stripe."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from storefront.payments.gateway import CANCELLED

from .conftest import API_KEY, http_request, parse_page

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def api(sandbox, method, path, form=None, **headers):
    status, answer_headers, body = http_request(method, f"{sandbox.url}{path}", form=form,
                                                headers={**AUTH, **headers})
    return status, answer_headers, json.loads(body)


def test_the_hosted_page_has_no_script_and_escapes_the_description(new_payment, sandbox):
    payment = new_payment(description='Dodol <script>alert("x")</script> & "Betawi"')

    status, headers, html = http_request("GET", payment.url)

    assert status == 200
    page = parse_page(html)
    assert page.scripts == 0 and page.inline_handlers == []
    assert "<script>" not in html
    assert "Dodol &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;Betawi&#34;" in html
    assert [f["button"] for f in page.forms] == ["Bayar", "Tolak", "Biarkan tertunda"]
    assert "script-src" not in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    css = http_request("GET", f"{sandbox.url}/_assets/pay.css")
    assert css[0] == 200 and css[1]["Content-Type"].startswith("text/css")


def test_a_hosted_form_without_its_token_is_refused(new_payment, gateway):
    payment = new_payment()
    status, _, _ = http_request("POST", payment.url, form={"choice": "pay", "token": "forged"})
    assert status == 400
    assert gateway.retrieve_payment(payment.id).status == "pending"


def test_an_unknown_hosted_page_is_404(sandbox):
    assert http_request("GET", f"{sandbox.url}/pay/cs_test_nobody")[0] == 404


SESSION = {
    "mode": "payment",
    "line_items[0][price_data][currency]": "idr",
    "line_items[0][price_data][unit_amount]": "500000",
    "line_items[0][price_data][product_data][name]": "Kerupuk kulit",
    "line_items[0][quantity]": "2",
    "success_url": "http://gerai.test/ok",
    "metadata[reference]": "GR-WIRE",
}


def test_idempotent_replay_and_mismatch(sandbox):
    first = api(sandbox, "POST", "/v1/checkout/sessions", SESSION, **{"Idempotency-Key": "wire-1"})
    again = api(sandbox, "POST", "/v1/checkout/sessions", SESSION, **{"Idempotency-Key": "wire-1"})
    other = api(sandbox, "POST", "/v1/checkout/sessions",
                {**SESSION, "line_items[0][quantity]": "3"}, **{"Idempotency-Key": "wire-1"})

    assert first[0] == 200 and first[2]["amount_total"] == 1_000_000
    assert first[2]["object"] == "checkout.session" and first[2]["livemode"] is False
    assert first[2]["metadata"] == {"reference": "GR-WIRE"}
    assert again[0] == 200 and again[2] == first[2]
    assert again[1]["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first[1]
    assert other[0] == 400 and other[2]["error"]["type"] == "idempotency_error"


@pytest.mark.parametrize("headers, code", [
    ({}, "api_key_missing"),
    ({"Authorization": "Bearer sk_live_abcdefghijklmnop"}, "api_key_invalid"),
    ({"Authorization": "Bearer sk_test_someone_elses_key"}, "api_key_invalid"),
    ({"Authorization": "Basic c2tfdGVzdF94Og=="}, "api_key_invalid"),
])
def test_only_its_own_key_gets_in(sandbox, headers, code):
    status, _, body = http_request("GET", f"{sandbox.url}/v1/events", headers=headers)
    assert status == 401
    assert json.loads(body)["error"]["code"] == code


def test_stripe_shaped_errors(sandbox):
    missing = api(sandbox, "GET", "/v1/checkout/sessions/cs_test_nobody")
    unknown_param = api(sandbox, "POST", "/v1/checkout/sessions", {**SESSION, "colour": "red"})
    no_line_items = api(sandbox, "POST", "/v1/checkout/sessions",
                        {"mode": "payment", "success_url": "http://gerai.test/ok"})
    short_expiry = api(sandbox, "POST", "/v1/checkout/sessions", {**SESSION, "expires_at": "1"})
    bad_url = api(sandbox, "POST", "/v1/checkout/sessions",
                  {**SESSION, "success_url": "javascript:alert(1)"})
    no_route = api(sandbox, "GET", "/v1/customers")

    assert missing[0] == 404 and missing[2]["error"]["code"] == "resource_missing"
    assert missing[2]["error"]["type"] == "invalid_request_error"
    assert unknown_param[0] == 400 and unknown_param[2]["error"]["code"] == "parameter_unknown"
    assert no_line_items[0] == 400 and no_line_items[2]["error"]["param"] == "line_items"
    assert short_expiry[0] == 400 and short_expiry[2]["error"]["param"] == "expires_at"
    assert bad_url[0] == 400 and bad_url[2]["error"]["code"] == "url_invalid"
    assert no_route[0] == 404 and "Unrecognized request URL" in no_route[2]["error"]["message"]


def test_payment_intents_and_their_cancellation(sandbox, gateway, webhook_receiver):
    status, _, intent = api(sandbox, "POST", "/v1/payment_intents", {
        "amount": "2500000", "currency": "idr", "metadata[reference]": "GR-PI-WIRE"})
    assert status == 200 and intent["status"] == "requires_payment_method"
    assert api(sandbox, "GET", f"/v1/payment_intents/{intent['id']}")[2] == intent

    status, _, cancelled = api(sandbox, "POST", f"/v1/payment_intents/{intent['id']}/cancel",
                               {"cancellation_reason": "abandoned"})

    assert status == 200 and cancelled["status"] == "canceled"
    [delivery] = webhook_receiver.wait_for("payment_intent.canceled", intent["id"])
    event = gateway.parse_webhook(delivery.body, delivery.headers)
    assert event.payment.status == CANCELLED and event.payment.reference == "GR-PI-WIRE"
    again = api(sandbox, "POST", f"/v1/payment_intents/{intent['id']}/cancel")
    assert again[0] == 400 and again[2]["error"]["code"] == "payment_intent_unexpected_state"


def test_refunds_on_the_wire(sandbox, new_payment, gateway):
    payment = new_payment(amount=10_000)
    sandbox.control(f"sessions/{payment.id}/pay")
    intent = gateway.retrieve_payment(payment.id).payment_intent

    status, _, refund = api(sandbox, "POST", "/v1/refunds",
                            {"payment_intent": intent, "amount": "400000"})
    too_much = api(sandbox, "POST", "/v1/refunds", {"payment_intent": intent,
                                                    "amount": "700000"})

    assert status == 200 and refund["object"] == "refund" and refund["amount"] == 400_000
    assert api(sandbox, "GET", f"/v1/refunds/{refund['id']}")[2] == refund
    assert too_much[0] == 400 and too_much[2]["error"]["code"] == "amount_too_large"
    assert api(sandbox, "GET", "/v1/refunds/re_nobody")[0] == 404


def test_events_are_listed_newest_first_and_page(sandbox, new_payment):
    for _ in range(3):
        sandbox.control(f"sessions/{new_payment().id}/expire")

    status, _, page = api(sandbox, "GET", "/v1/events?" + urlencode({"limit": 2}))
    _, _, rest = api(sandbox, "GET", "/v1/events?" + urlencode(
        {"limit": 2, "starting_after": page["data"][-1]["id"]}))

    assert status == 200 and page["object"] == "list" and page["has_more"] is True
    created = [e["created"] for e in page["data"] + rest["data"]]
    assert created == sorted(created, reverse=True)
    assert not {e["id"] for e in page["data"]} & {e["id"] for e in rest["data"]}
