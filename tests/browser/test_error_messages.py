"""A refused htmx request says why, where the person is looking (issue 13.8), in Chromium.

htmx swaps nothing for a 4xx/5xx answer (bar 409/422, which carry the form back with
its messages), and gerai.js only showed the photo form's 503: a seller's 15 MB photo got
a 413 and the page did nothing at all. Now every refused htmx request puts the answer's
reason in a notice next to the form that sent it, keeps what was typed, and the CSP
stays strict (no inline script or style).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

SELLER = "penjual1@gerai.test"


def _log_in(context, email: str) -> Page:
    from storefront.demo.seed import DEMO_PASSWORD

    return log_in(context, email, DEMO_PASSWORD)


def _watch(page: Page) -> list[str]:
    """CSP violations and script errors (htmx's own log line for a 4xx is expected)."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


@pytest.fixture
def photo_page(new_context, live_app) -> Page:
    """A demo seller on the page of one of their products with room for another photo."""
    from sqlalchemy import select

    from storefront.accounts.models import User
    from storefront.catalogue.models import Product, Shop
    from storefront.extensions import db

    with live_app.app_context():
        shop = db.session.scalar(select(Shop).join(User, Shop.owner_id == User.id)
                                 .where(User.email == SELLER))
        product_id = next(p.id for p in db.session.scalars(
            select(Product).where(Product.shop_id == shop.id).order_by(Product.id))
            if len(p.images) < 8)
        db.session.remove()
    page = _log_in(new_context(), SELLER)
    page.goto(f"/penjual/produk/{product_id}")
    return page


def test_a_photo_too_large_says_so_next_to_the_upload_form(photo_page):
    page = photo_page
    problems = _watch(page)
    upload = page.locator("form.upload")
    upload.locator('input[type="file"]').set_input_files(files=[{
        "name": "foto-besar.jpg", "mimeType": "image/jpeg",
        "buffer": b"\xff\xd8\xff\xe0" + b"\0" * (15 * 1024 * 1024)}])
    name_before = page.get_by_label("Nama produk").input_value()
    with page.expect_response(lambda r: r.url.endswith("/foto")) as answer:
        upload.get_by_role("button", name="Unggah foto").click()
    assert answer.value.status == 413

    notice = page.locator(".request-error")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Berkas terlalu besar")
    expect(notice).to_contain_text("Kecilkan berkas lalu coba lagi")
    expect(notice).to_have_attribute("role", "alert")
    expect(notice).to_be_in_viewport()
    # nothing else on the page was swapped away
    expect(page.get_by_label("Nama produk")).to_have_value(name_before)
    expect(upload).to_be_visible()
    assert problems == []


def test_an_expired_form_session_says_so_where_the_button_was(new_context):
    page = new_context().new_page()
    page.goto("/katalog")
    card = page.locator("li.card", has=page.locator("a.quick-add")).first
    # The session the page's token belonged to is gone (expired, or the browser cleared it).
    page.context.clear_cookies()
    card.locator("a.quick-add").click()
    notice = page.locator(".request-error")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Sesi formulir kedaluwarsa atau tidak sah")
    expect(page.locator("li.card a.quick-add").first).to_be_visible()


def test_a_lost_connection_says_so(new_context):
    page = new_context().new_page()
    page.goto("/katalog")
    page.route(re.compile(r".*/keranjang/tambah$"), lambda route: route.abort("connectionreset"))
    page.locator("a.quick-add").first.click()
    notice = page.locator(".request-error")
    expect(notice).to_contain_text("Gerai tidak bisa dihubungi")
    # the next try that works clears the notice
    page.unroute(re.compile(r".*/keranjang/tambah$"))
    page.locator("a.quick-add").first.click()
    expect(notice).to_have_count(0)
