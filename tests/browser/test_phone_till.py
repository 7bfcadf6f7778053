"""The stand till on a 360 px phone (issue 14.2 and 14.3): the keeper sees every message and
the QR without scrolling for them, and the till opens again without signal."""

import pytest
from playwright.sync_api import expect

from tests.browser.seen import assert_seen, sideways_overflow, small_targets, wait_seen
from tests.browser.test_fair import open_till, stand, stand_sales  # noqa: F401 (stand: a fixture)

pytestmark = pytest.mark.browser


def test_till_messages_show_next_to_the_buttons_the_keeper_pressed(new_context, stand):  # noqa: F811
    _, keeper = open_till(new_context, stand)
    cash = keeper.get_by_role("button", name="Tunai")
    cash.scroll_into_view_if_needed()
    cash.click()
    message = keeper.locator("#pesan-kasir")
    expect(message).to_have_text("Pilih barang atau ketik nominal dulu.")
    assert_seen(message, "the 'choose something first' message")
    assert_seen(cash, "the cash button, still")

    keeper.locator(".till-item", has_text="Kopi Robusta Bubuk").click()
    keeper.get_by_label("Uang diterima (tunai)").fill("10.000")
    cash.scroll_into_view_if_needed()
    cash.click()
    expect(message).to_have_text("Uang diterima kurang dari total.")
    assert_seen(message, "the 'not enough cash' message")


def test_after_bayar_qr_the_amount_and_qr_are_on_the_screen(new_context, stand):  # noqa: F811
    _, keeper = open_till(new_context, stand)
    keeper.locator(".till-item", has_text="Kopi Robusta Bubuk").click()
    pay = keeper.get_by_role("button", name="Bayar QR")
    pay.scroll_into_view_if_needed()
    pay.click()
    qr = keeper.locator("#tagihan .qr svg")
    expect(qr).to_be_visible()
    wait_seen(keeper.locator("#tagihan .big-amount").first, "the amount to pay")  # scrolled after the swap
    assert_seen(qr, "the payment QR")
    keeper.wait_for_timeout(1_500)  # the charge polls every second: it must not jump about
    assert_seen(qr, "the payment QR after a poll")
    assert sideways_overflow(keeper) <= 0


def test_till_reopens_without_signal_and_keeps_queuing_cash(new_context, live_app, stand):  # noqa: F811
    context, keeper = open_till(new_context, stand)
    # the page is controlled by the till's worker once it has installed (a string predicate
    # would need eval, which the page's CSP refuses)
    keeper.evaluate("navigator.serviceWorker.ready")
    for _ in range(50):
        if keeper.evaluate("navigator.serviceWorker.controller !== null"):
            break
        keeper.wait_for_timeout(100)
    assert keeper.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/pameran/kasir-sw.js")
    for _ in range(50):  # the worker keeps the screen opened before it was installed
        if keeper.evaluate("caches.match(location.href).then(kept => !!kept)"):
            break
        keeper.wait_for_timeout(100)
    assert keeper.locator("link[rel=manifest]").count() == 1

    context.set_offline(True)
    keeper.reload()  # a browser restart at the fair, no signal
    expect(keeper.locator(".till-item", has_text="Keripik Tempe Pedas")).to_be_visible()
    expect(keeper.locator("#jaringan")).to_contain_text("Offline")
    keeper.locator(".till-item", has_text="Keripik Tempe Pedas").click()
    cash = keeper.get_by_role("button", name="Tunai")
    cash.scroll_into_view_if_needed()
    cash.click()
    assert_seen(keeper.locator("#tunai-offline .paid-stamp"), "the 'cash recorded' stamp")
    expect(keeper.locator("#antrean")).to_contain_text("1 penjualan tunai menunggu sinkron")

    keeper.locator(".till-item", has_text="Kopi Robusta Bubuk").click()
    pay = keeper.get_by_role("button", name="Bayar QR")
    pay.scroll_into_view_if_needed()
    pay.click()
    expect(keeper.locator("#pesan-kasir")).to_contain_text("butuh internet")
    assert_seen(keeper.locator("#pesan-kasir"), "'Bayar QR needs the internet'")
    assert stand_sales(live_app, stand["stand_id"]) == []

    context.set_offline(False)
    expect(keeper.locator("#antrean")).to_be_hidden(timeout=10_000)
    assert stand_sales(live_app, stand["stand_id"]) == [("fair_cash", 15_000)]
    # in the seller's orders a stand sale says so, not "Selesai · Diantar" (issue 14.9)
    keeper.goto("/penjual/pesanan")
    expect(keeper.locator(".order-list li").first).to_contain_text("Stan pameran, tunai")


def test_till_header_is_compact_and_its_controls_are_thumb_sized(new_context, stand):  # noqa: F811
    _, keeper = open_till(new_context, stand)
    header = keeper.locator(".site-header").bounding_box()
    assert header["height"] <= 110, f"the header takes {header['height']} px of a 800 px screen"
    assert_seen(keeper.locator(".till-item").first, "the first product on the till")
    assert small_targets(keeper) == []


def test_signing_out_forgets_the_offline_till(new_context, stand):  # noqa: F811
    _, keeper = open_till(new_context, stand)
    keeper.evaluate("navigator.serviceWorker.ready")
    for _ in range(50):
        if keeper.evaluate("caches.match(location.href).then(kept => !!kept)"):
            break
        keeper.wait_for_timeout(100)
    assert keeper.evaluate("caches.keys()") == ["gerai-till-v1"]
    keeper.get_by_role("button", name="Keluar").click()
    keeper.wait_for_url(lambda url: "/kasir" not in url)
    expect(keeper.get_by_text("Anda sudah keluar.")).to_be_visible()
    assert keeper.evaluate("caches.keys()") == []
