"""A cooperative manager's page on a phone (issue 14.10): the month's headline follows the
live list, and the monthly chart has its months and amounts written on it."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.seen import assert_seen, sideways_overflow
from tests.browser.test_cooperatives import cooperative, member_sells  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser


def test_headline_total_follows_the_live_list_and_the_chart_is_labelled(new_context, live_app, cooperative):  # noqa: F811
    page = log_in(new_context(), cooperative["manager"])
    page.goto(f"/koperasi/{cooperative['slug']}")
    headline = page.locator("#bulan-ini strong")
    expect(headline).to_have_text("Rp0")
    member_sells(live_app, cooperative["stand_id"], 37_500)
    expect(headline).to_have_text("Rp37.500", timeout=8_000)
    expect(page.locator("#bulan-ini .count")).to_contain_text("1 transaksi")
    assert_seen(headline, "the month's total")
    assert sideways_overflow(page) <= 0

    page.reload()
    bars = page.locator("#bulanan-judul ~ svg.chart rect.bar")
    expect(bars).to_have_count(6)  # the last six months, quiet ones included
    expect(page.locator("svg.chart text.axis")).to_have_count(6)
    expect(page.locator("svg.chart text.value").last).to_have_text("37 rb")
