"""'Buka toko' for people without a shop (issue 14.4): a signed-in shopper finds it in the
header, and someone new who registers from it lands on the shop form, not the home page."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.seen import assert_seen

pytestmark = pytest.mark.browser


def test_buka_toko_then_daftar_keeps_the_goal_through_the_mail_link(page, live_app):
    page.goto("/")
    page.locator(".account-nav").get_by_role("link", name="Buka toko").click()
    expect(page).to_have_url(re.compile(r"/masuk\?next="))
    page.get_by_role("link", name="Daftar", exact=True).last.click()
    expect(page.get_by_label(re.compile("ingin berjualan"))).to_be_checked()
    page.get_by_label("Nama").fill("Bu Ani Buka Toko")
    page.get_by_label("Email").fill("ani-buka-toko@contoh.id")
    page.get_by_role("button", name="Daftar").click()
    body = live_app.extensions["gerai.sent_mail"][-1].get_content()
    link = re.search(r"https?://[^/\s]+(/daftar/selesai/\S+)", body).group(1)
    page.goto(link)
    page.get_by_label("Kata sandi", exact=True).fill("kopi-tubruk-cisadane")
    page.get_by_label(re.compile("Ulangi|Konfirmasi")).fill("kopi-tubruk-cisadane")
    page.get_by_role("button", name="Buat akun").click()
    expect(page).to_have_url(re.compile(r"/toko/buka$"))


def test_a_signed_in_shopper_finds_buka_toko_in_the_header(new_context, live_app):
    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.extensions import db
    from tests.conftest import TEST_PASSWORD

    with live_app.app_context():
        if db.session.query(User).filter_by(email="calon-penjual@gerai.test").one_or_none() is None:
            user = User(name="Calon Penjual", email="calon-penjual@gerai.test",
                        password_hash=hash_password(TEST_PASSWORD))
            user.roles = [UserRole(role="shopper")]
            db.session.add(user)
            db.session.commit()
        db.session.remove()
    page = log_in(new_context(), "calon-penjual@gerai.test")
    link = page.locator(".account-nav").get_by_role("link", name="Buka toko")
    link.scroll_into_view_if_needed()
    assert_seen(link, "'Buka toko' in the header")
    link.click()
    expect(page).to_have_url(re.compile(r"/toko/buka$"))
