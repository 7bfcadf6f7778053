"""Every page people use, at 360 px, as each of them (issue 14.10, 14.11): nothing scrolls
sideways, the header stays two short rows, and no control is under 24 x 24 CSS px."""

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import log_in
from tests.browser.seen import sideways_overflow, small_targets

pytestmark = pytest.mark.browser

FAIR = "/pameran/pameran-umkm-situ-cipondoh"
PAGES = {
    None: ["/", "/katalog", "/toko", "/keranjang", "/masuk", "/daftar", f"{FAIR}/A-001"],
    "pembeli@gerai.test": ["/akun/pesanan", "/checkout"],
    "penjual1@gerai.test": ["/penjual", "/penjual/produk", "/penjual/produk/baru", "/penjual/pesanan",
                            "/penjual/toko", "/penjual/produk/impor", f"{FAIR}/A-001/kasir"],
    "admin@gerai.test": ["/admin/verifikasi", "/pameran", FAIR, f"{FAIR}/dasbor", "/laporan"],
    "koperasi@gerai.test": ["/koperasi"],
}


def _log_in(context, email: str) -> Page:
    from storefront.demo.seed import DEMO_PASSWORD

    return log_in(context, email, DEMO_PASSWORD)


@pytest.mark.parametrize("who", list(PAGES), ids=lambda who: who or "visitor")
def test_pages_fit_a_phone_with_thumb_sized_controls(new_context, who):
    context = new_context()
    page = _log_in(context, who) if who else context.new_page()
    problems = []
    for path in PAGES[who]:
        response = page.goto(path)
        assert response.status < 400, f"{path}: {response.status}"
        header = page.locator(".site-header").bounding_box()
        if header["height"] > 110:
            problems.append(f"{path}: the header is {header['height']:.0f} px tall")
        if (extra := sideways_overflow(page)) > 0:
            problems.append(f"{path}: scrolls {extra} px sideways")
        if small := small_targets(page):
            problems.append(f"{path}: small tap targets {small[:5]}")
    assert problems == []
