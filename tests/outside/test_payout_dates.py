"""A payout is dated on a day the money could have been sent (issue 13.11).

An admin could record a transfer dated year 1 or 9999; the statement then sorted it
first or last forever. The form now takes dates from 1 January 2020 to today in
Jakarta and says so next to the field, keeping everything else the admin typed.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from storefront.timeutil import today_in_jakarta
from tests.factories import ShopFactory, UserFactory


@pytest.fixture
def office(app, browser):
    UserFactory(email="admin@contoh.id", roles=["admin"])
    shop = ShopFactory(name="Dapur Bu Sri")
    assert browser.login("admin@contoh.id").status_code == 200
    return browser, f"/admin/toko/{shop.id}/rekening"


def _record(browser, url: str, paid_on: str):
    page = browser.get(url).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return browser.post(url, data={"csrf_token": token, "amount": "250.000",
                                   "reference": "BCA 0042", "paid_on": paid_on,
                                   "note": "Transfer pekan ini"})


@pytest.mark.parametrize("paid_on, message", [
    ("0001-01-01", "Tanggal"),  # outside every date field's years (storefront/params.py)
    ("2019-12-31", "paling awal 1 Januari 2020"),
    ("9999-12-31", "Tanggal"),
    ((today_in_jakarta() + timedelta(days=1)).isoformat(), "tidak boleh setelah hari ini"),
])
def test_a_payout_dated_outside_sensible_days_is_refused_next_to_the_field(office, paid_on,
                                                                           message):
    browser, url = office
    answer = _record(browser, url, paid_on)
    assert answer.status_code == 422
    assert re.search(r'id="paid_on-error">[^<]*' + message, answer.text)
    # what the admin typed is still there
    assert 'value="250.000"' in answer.text and 'value="BCA 0042"' in answer.text
    statement = browser.get(url).text
    assert "BCA 0042" not in statement


def test_a_payout_dated_today_or_in_the_past_is_recorded(office):
    browser, url = office
    for day in (today_in_jakarta(), today_in_jakarta() - timedelta(days=40)):
        recorded = _record(browser, url, day.isoformat())
        assert recorded.status_code == 200 and recorded.history[0].status_code == 303
    statement = browser.get(url).text
    assert statement.count("BCA 0042") == 2


def test_the_date_picker_offers_only_accepted_days(office):
    browser, url = office
    page = browser.get(url).text
    field = re.search(r'<input[^>]*name="paid_on"[^>]*>', page).group(0)
    assert 'min="2020-01-01"' in field and f'max="{today_in_jakarta().isoformat()}"' in field
