"""Nothing a person types reaches the HTTP status line or the headers (issue 13.1)."""

from __future__ import annotations

import http.client
from urllib.parse import quote, urlsplit

import pytest

from storefront.htmx import render
from tests.factories import ShopFactory, UserFactory

SPLITTING = ("200 OK\r\nSet-Cookie: x=1", "200%20OK%0D%0ASet-Cookie:%20x=1", "new", "draft",
             "0", "999", "<script>alert(1)</script>")


@pytest.fixture
def seller(app, browser):
    owner = UserFactory(email="penjual@gerai.test", roles=["shopper", "seller"])
    ShopFactory(owner=owner, name="Dapur Bu Sri")
    browser.login("penjual@gerai.test")
    return browser


def _raw_get(base: str, path: str, browser) -> tuple[str, list[tuple[str, str]]]:
    """The status line and headers exactly as the socket carried them."""
    where = urlsplit(base)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.get_dict().items())
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.putheader("Cookie", cookie)
    # The session is bound to the browser that signed in (Flask-Login's protection).
    connection.putheader("User-Agent", browser.headers["User-Agent"])
    connection.endheaders()
    response = connection.getresponse()
    status_line = f"{response.status} {response.reason}"
    headers = response.getheaders()
    response.read()
    connection.close()
    return status_line, headers


@pytest.mark.parametrize("page", ["/penjual/pesanan", "/penjual/produk"])
@pytest.mark.parametrize("value", SPLITTING)
def test_a_status_filter_never_becomes_the_status_line(seller, live, page, value):
    status_line, headers = _raw_get(live.url, f"{page}?status={quote(value, safe='%')}", seller)
    assert status_line == "200 OK"
    assert not any(name.lower() == "set-cookie" and "x=1" in v for name, v in headers)


def test_the_page_filter_links_answer_200(seller):
    page = seller.get("/penjual/pesanan")
    for status in ("new", "processing", "completed", "cancelled"):
        assert seller.get(f"/penjual/pesanan?status={status}").status_code == 200
    assert page.status_code == 200


@pytest.mark.parametrize("bad", ["200", "200 OK\r\nX: y", 200.0, True, 42, 1000])
def test_render_takes_only_an_int_http_status(app, bad):
    with app.test_request_context("/"), pytest.raises(TypeError):
        render("errors/error.html", http_status=bad, code=500, title="x")
