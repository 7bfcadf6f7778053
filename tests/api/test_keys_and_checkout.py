"""Keys, orders by code, checkout with a QRIS in the answer, and the office's reports."""

from __future__ import annotations

import csv
import io

import pytest

from storefront.catalogue.models import Product
from storefront.extensions import db
from tests.api.conftest import api_checkout, bearer, pay_in_the_sandbox
from tests.factories import UserFactory
from tests.helpers import csrf_token

KEYED = [("get", "/api/v1/orders/GR-261130-ABCDEFGHJK"), ("get", "/api/v1/reports/sales"),
         ("post", "/api/v1/carts"), ("get", "/api/v1/carts/" + "a" * 32)]


@pytest.mark.parametrize("method, url", KEYED)
def test_without_a_key_the_answer_is_401_with_a_challenge(client, method, url):
    answer = getattr(client, method)(url, json={} if method == "post" else None)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.mimetype == "application/problem+json"


@pytest.mark.parametrize("header", ["Bearer", "Bearer gerai_x_y", "Basic Z2VyYWk6eA==",
                                    "Bearer gerai_abcdefghij_" + "A" * 43, "Bearer \x00"])
def test_a_malformed_or_unknown_key_is_refused_even_on_public_reads(client, header):
    answer = client.get("/api/v1/categories", headers={"Authorization": header})
    assert answer.status_code == 401


def test_a_revoked_key_is_refused_at_once(client, auth, issue_key):
    key, token = issue_key()
    assert client.get("/api/v1/reports/sales", headers=bearer(token)).status_code == 200
    admin = UserFactory(roles=["admin"])
    auth.login(admin.email)
    revoked = client.post(f"/admin/api/{key.id}/cabut",
                          data={"csrf_token": csrf_token(client, "/admin/api")})
    assert revoked.status_code == 303
    answer = client.get("/api/v1/reports/sales", headers=bearer(token))
    assert answer.status_code == 401 and answer.json["type"].endswith("/key-revoked")


def test_a_key_without_the_scope_is_refused(client, issue_key):
    _key, token = issue_key(scopes=["orders:read"])
    answer = client.get("/api/v1/reports/sales", headers=bearer(token))
    assert answer.status_code == 403 and answer.json["type"].endswith("/missing-scope")
    _key, none = issue_key(scopes=[])
    assert client.post("/api/v1/carts", json={"lines": []}, headers=bearer(none)).status_code == 403


def test_a_browser_session_never_authenticates_the_api(client, auth):
    admin = UserFactory(roles=["admin"])
    auth.login(admin.email)
    token = csrf_token(client, "/admin/api")
    assert client.get("/laporan").status_code == 200  # the session itself works
    assert client.get("/api/v1/reports/sales").status_code == 401
    write = client.post("/api/v1/carts", json={"lines": [{"product_id": 1, "quantity": 1}]},
                        headers={"X-CSRFToken": token})
    assert write.status_code == 401
    assert "Set-Cookie" not in write.headers and "Set-Cookie" not in client.get(
        "/api/v1/categories").headers


def test_a_key_sees_its_shape_in_the_admin_screen_and_the_cli_issues_one(client, auth, runner):
    result = runner.invoke(args=["api-key", "issue", "--name", "Portal Data", "--owner",
                                 "Diskominfo", "--scope", "reports:read", "--rate-limit", "30"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/reports/sales", headers=bearer(token)).status_code == 200
    observer = UserFactory(roles=["observer"])
    auth.login(observer.email)
    page = client.get("/admin/api").get_data(as_text=True)
    assert "Portal Data" in page and token not in page  # never shown again


def test_the_office_issues_a_key_shown_once(client, auth):
    admin = UserFactory(roles=["admin"])
    auth.login(admin.email)
    answer = client.post("/admin/api", data={
        "name": "Tangerang LIVE", "owner": "Diskominfo", "scopes": ["orders:read", "checkout:write"],
        "rate_limit": "600", "csrf_token": csrf_token(client, "/admin/api")})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    import re

    token = re.search(r"gerai_[a-z0-9]{10}_[A-Za-z0-9_-]{43}", body).group(0)
    assert client.get("/admin/api").get_data(as_text=True).count(token) == 0
    assert client.get("/api/v1/orders/GR-261130-ABCDEFGHJK", headers=bearer(token)).status_code == 404
    bad = client.post("/admin/api", data={"name": "", "owner": "x", "rate_limit": "٣",
                                          "csrf_token": csrf_token(client, "/admin/api")})
    assert bad.status_code == 422


# --- checkout ---------------------------------------------------------------------------------

def test_checkout_returns_a_qris_and_the_order_reads_back_by_code(client, qris_app, catalogue,
                                                                   api_key, issue_key,
                                                                   xendit_server):
    keripik = catalogue.keripik
    cart, answer = api_checkout(client, api_key, [{"product_id": keripik.id, "quantity": 2}])
    assert cart["total"] == 30_000 and cart["payment_methods"] == ["qris"]
    assert answer.status_code == 201, answer.json
    purchase = answer.json
    assert purchase["total"] == 30_000 and purchase["status"] == "pending"
    assert purchase["payment"]["method"] == "qris"
    assert purchase["payment"]["qris"].startswith("000201")
    db.session.expire_all()
    assert db.session.get(Product, keripik.id).stock == 28  # held once

    # The same idempotency key again (a retry after a timeout): the same purchase, one hold.
    again = client.post(f"/api/v1/carts/{cart['id']}/checkout", json={
        "contact": {"name": "Siti Aminah", "whatsapp": "0812-3456-7890"},
        "payment_method": "qris", "idempotency_key": "idem-0000001"}, headers=bearer(api_key))
    assert again.status_code == 200 and again.json["code"] == purchase["code"]
    db.session.expire_all()
    assert db.session.get(Product, keripik.id).stock == 28

    # Another client app's key reads it by the code the shopper holds; no contact in it.
    _key, other = issue_key(scopes=["orders:read"], name="Portal")
    read = client.get(f"/api/v1/orders/{purchase['code']}", headers=bearer(other))
    assert read.status_code == 200 and read.json["orders"][0]["total"] == 30_000
    assert "0812" not in read.get_data(as_text=True) and "Siti" not in read.get_data(as_text=True)
    order_code = read.json["orders"][0]["code"]
    assert client.get(f"/api/v1/orders/{order_code}", headers=bearer(other)).json["code"] \
        == purchase["code"]

    pay_in_the_sandbox(xendit_server, purchase["code"])
    paid = client.get(f"/api/v1/orders/{purchase['code']}", headers=bearer(api_key)).json
    assert paid["status"] == "paid" and paid["payment"]["qris"] is None
    assert paid["orders"][0]["status"] == "new"


@pytest.mark.parametrize("code", ["GR-261130-٣٣٣٣٣٣٣٣٣٣", "GR-261130-ABC%00DEFGH", "gr-261130-abcdefghjk",
                                  "P-1", "X" * 500, "GR-261130-ABCDEFGHJK"])
def test_other_or_odd_codes_are_404(client, api_key, code):
    answer = client.get(f"/api/v1/orders/{code}", headers=bearer(api_key))
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


def test_the_client_never_sets_a_price_and_stock_is_checked(client, qris_app, catalogue, api_key):
    with_price = client.post("/api/v1/carts", headers=bearer(api_key), json={
        "lines": [{"product_id": catalogue.keripik.id, "quantity": 1, "price": 1}]})
    assert with_price.status_code == 422
    assert with_price.json["errors"][0]["field"].endswith("price")
    sold_out = client.post("/api/v1/carts", headers=bearer(api_key), json={
        "lines": [{"product_id": catalogue.sambal.id, "quantity": 1},
                  {"product_id": catalogue.draft.id, "quantity": 1},
                  {"product_id": 2147483647, "quantity": 1}]})
    assert sold_out.status_code == 409
    assert [e["field"] for e in sold_out.json["errors"]] == ["lines.0", "lines.1",
                                                             "lines.2.product_id"]
    too_many = client.post("/api/v1/carts", headers=bearer(api_key), json={
        "lines": [{"product_id": catalogue.keripik.id, "quantity": 99}]})
    assert too_many.status_code == 409
    floats = client.post("/api/v1/carts", headers=bearer(api_key), json={
        "lines": [{"product_id": catalogue.keripik.id, "quantity": 1.5}]})
    assert floats.status_code == 422


def test_bad_bodies_get_the_right_4xx(client, catalogue, api_key):
    headers = bearer(api_key)
    assert client.post("/api/v1/carts", data="lines=1", headers=headers,
                       content_type="application/x-www-form-urlencoded").status_code == 415
    assert client.post("/api/v1/carts", data="{not json", headers=headers,
                       content_type="application/json").status_code == 400
    assert client.post("/api/v1/carts", data=b'{"lines": "\xff"}', headers=headers,
                       content_type="application/json").status_code == 400
    deep = client.post("/api/v1/carts", data="[" * 60_000, headers=headers,
                       content_type="application/json")  # was a RecursionError, a 500
    assert deep.status_code == 400 and deep.json["type"].endswith("/invalid-json")
    for body in ('{"lines": [{"product_id": 1e400, "quantity": 1}]}',
                 '{"lines": [{"product_id": "٣", "quantity": 1}]}',
                 '{"lines": [{"product_id": true, "quantity": 1}]}',
                 '{"lines": [{"product_id": 1, "quantity": "1"}]}', "NaN", "null", "[]"):
        answer = client.post("/api/v1/carts", data=body, headers=headers,
                             content_type="application/json")
        assert answer.status_code == 422, body
    big = '{"lines": [' + ",".join(['{"product_id": 1, "quantity": 1}'] * 3000) + "]}"
    assert client.post("/api/v1/carts", data=big, headers=headers,
                       content_type="application/json").status_code == 413
    nul = client.post("/api/v1/carts/" + "a" * 32 + "/checkout", headers=headers, json={
        "contact": {"name": "A\x00B", "whatsapp": "0812"}, "idempotency_key": "idem-nul-0001"})
    assert nul.status_code == 422


def test_checkout_checks_the_contact_and_delivery_like_the_page(client, qris_app, catalogue,
                                                                api_key):
    cart = client.post("/api/v1/carts", headers=bearer(api_key), json={
        "lines": [{"product_id": catalogue.keripik.id, "quantity": 1}]}).json
    answer = client.post(f"/api/v1/carts/{cart['id']}/checkout", headers=bearer(api_key), json={
        "contact": {"name": "Siti", "whatsapp": "12"}, "idempotency_key": "idem-contact-1"})
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json["errors"]} == {"contact.whatsapp"}
    # This shop only hands over at the shop (no delivery fee set): the page's own message.
    pickup_only = client.post(f"/api/v1/carts/{cart['id']}/checkout", headers=bearer(api_key),
                              json={"contact": {"name": "Siti", "whatsapp": "0812-3456-7890"},
                                    "idempotency_key": "idem-contact-2",
                                    "shops": [{"shop_id": catalogue.keripik.shop.id,
                                               "fulfilment": "delivery", "address": "Jl. Situ"}]})
    assert pickup_only.status_code == 422
    assert pickup_only.json["errors"][0]["message"] == "Toko ini hanya melayani ambil di toko."
    stranger = client.post(f"/api/v1/carts/{cart['id']}/checkout", headers=bearer(api_key),
                           json={"contact": {"name": "Siti", "whatsapp": "0812-3456-7890"},
                                 "idempotency_key": "idem-contact-3",
                                 "shops": [{"shop_id": catalogue.kopi.shop.id}]})
    assert stranger.status_code == 422


# --- reports ---------------------------------------------------------------------------------

def test_the_report_gives_the_report_pages_figures_to_the_rupiah(client, auth, qris_app,
                                                                  catalogue, api_key,
                                                                  xendit_server):
    for n, (product, quantity) in enumerate([(catalogue.keripik, 3), (catalogue.kopi, 1)]):
        _cart, answer = api_checkout(client, api_key, [{"product_id": product.id,
                                                        "quantity": quantity}], key=f"idem-r-{n:05}")
        pay_in_the_sandbox(xendit_server, answer.json["code"])
    admin = UserFactory(roles=["admin"])
    auth.login(admin.email)
    for by in ("kecamatan", "kategori", "jenis", "kanal", "toko"):
        export = client.get(f"/laporan/ekspor.csv?menurut={by}").get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(export.lstrip("\ufeff"))))[1:]
        api = client.get(f"/api/v1/reports/sales?by={by}", headers=bearer(api_key)).json
        assert [(r["label"], r["total"], r["count"]) for r in api["rows"]] == [
            (label, int(total), int(count)) for label, total, count, _share in rows[:-1]]
        assert api["total"] == int(rows[-1][1]) == 3 * 15_000 + 45_000
    bad = client.get("/api/v1/reports/sales?from=2026-12-01&to=2026-01-01", headers=bearer(api_key))
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "query.to"
    old = client.get("/api/v1/reports/sales?from=1999-01-01", headers=bearer(api_key))
    assert old.status_code == 422



def test_the_office_subscribes_a_webhook_and_its_secret_is_shown_once(client, auth, issue_key):
    key, _token = issue_key()
    admin = UserFactory(roles=["admin"])
    auth.login(admin.email)
    refused = client.post("/admin/api/webhook", data={
        "key": str(key.id), "url": "javascript:alert(1)", "events": ["order.paid"],
        "csrf_token": csrf_token(client, "/admin/api")})
    assert refused.status_code == 422
    answer = client.post("/admin/api/webhook", data={
        "key": str(key.id), "url": "https://live.example/gerai", "events": ["order.paid"],
        "csrf_token": csrf_token(client, "/admin/api")})
    import re

    secret = re.search(r"whsec_[A-Za-z0-9_-]{43}", answer.get_data(as_text=True)).group(0)
    assert answer.status_code == 200 and secret not in client.get("/admin/api").get_data(as_text=True)
    assert client.post("/admin/api/webhook", data={
        "key": "٣", "url": "https://live.example/gerai", "events": ["order.paid"],
        "csrf_token": csrf_token(client, "/admin/api")}).status_code == 422


def test_a_card_checkout_hands_the_shopper_to_the_payment_page_and_back_to_the_client(
        app, client, sandbox_app, sandbox_server, catalogue, api_key):
    app.config["API_CORS_ORIGINS"] = ("https://live.tangerangkota.go.id",)
    line = [{"product_id": catalogue.kopi.id, "quantity": 1}]
    _cart, foreign = api_checkout(client, api_key, line, key="idem-card-0001", method="card",
                                  return_url="https://jahat.example/ambil")
    assert foreign.status_code == 422 and foreign.json["errors"][0]["field"] == "return_url"
    _cart, answer = api_checkout(client, api_key, line, key="idem-card-0002", method="card",
                                 return_url="https://live.tangerangkota.go.id/gerai/selesai")
    assert answer.status_code == 201, answer.json
    payment = answer.json["payment"]
    assert payment["method"] == "card" and payment["qris"] is None
    assert payment["url"].startswith(sandbox_server.url)
    _cart, qris = api_checkout(client, api_key, line, key="idem-card-0003", method="qris")
    assert qris.status_code == 422  # no QRIS gateway configured here: said, not a 500
