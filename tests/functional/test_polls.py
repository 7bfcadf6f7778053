"""Polls answered from versions (issue 16): the till's charge and sales list and the fair's
dashboard say "nothing changed" (204, nothing read) until something they show changed, and
then show it at once, whoever changed it."""

import re
from datetime import date, timedelta
from html import unescape

import pytest

from storefront.exhibitions.models import Fair, Stand
from storefront.extensions import db
from tests.conftest import AuthActions
from tests.factories import UserFactory
from tests.functional.test_checkout import deliver
from tests.functional.test_fair_till import keripik, qr_charge, sell, visitor_pays

pytestmark = pytest.mark.usefixtures("sandbox_app")

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def own_versions(app, tmp_path):
    """Versions of this test alone (tests in other processes share the instance folder)."""
    app.config["POLL_VERSIONS_FILE"] = str(tmp_path / "poll-versions")


def polled(html: str, element_id: str) -> str:
    """The URL the element with this id polls (its hx-get), as htmx would ask it."""
    tag = re.search(r'<[^>]*\bid="%s"[^>]*>' % element_id, html).group(0)
    return unescape(re.search(r'hx-get="([^"]*)"', tag).group(1))


def poll(client, url: str, target: str):
    return client.get(url, headers={**HX, "HX-Target": target})


def test_the_sales_list_says_nothing_changed_until_a_sale(keeper, stand):
    url = polled(keeper.get(stand["url"] + "/kasir").get_data(as_text=True), "penjualan")
    unchanged = poll(keeper, url, "penjualan")
    assert unchanged.status_code == 204 and unchanged.data == b""
    assert sell(keeper, stand, method="cash", json=True, **keripik(1)).status_code == 201
    fresh = poll(keeper, url, "penjualan")
    text = fresh.get_data(as_text=True)
    assert fresh.status_code == 200 and "Rp15.000" in text and "Keripik Tempe" in text
    # The new list polls with its own version: quiet again until the next change.
    assert poll(keeper, polled(text, "penjualan"), "penjualan").status_code == 204


def test_a_version_serves_only_who_was_shown_it_where_it_was_shown(app, client, keeper, stand):
    url = polled(keeper.get(stand["url"] + "/kasir").get_data(as_text=True), "penjualan")
    stranger = app.test_client()  # no session: the version is not theirs
    assert poll(stranger, url, "penjualan").status_code in (302, 303, 401)
    tampered = url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb")
    assert poll(keeper, tampered, "penjualan").status_code == 200
    # Another stand's URL with this stand's version: rendered (and refused), never a 204.
    other = url.replace("/A-01/", "/A-02/")
    assert poll(keeper, other, "penjualan").status_code == 404
    # A full page load always renders.
    assert keeper.get(url).status_code == 200
    # Whatever is typed into the version: rendered, never a 500.
    base = url.split("?")[0]
    for typed in ("~~~", "a~b~c~\u0661\u0662", "x~1.2~\u0661\u0662~\u00e9\u00e9", "\x00~~~",
                  "~" * 5000):
        assert poll(keeper, f"{base}?v={typed}", "penjualan").status_code == 200


def test_a_charge_turns_paid_on_the_first_poll_after_the_webhook(app, keeper, stand, sandbox):
    purchase = qr_charge(keeper, stand, **keripik(2))
    screen = keeper.get(f"{stand['url']}/kasir/tagihan/{purchase.code}").get_data(as_text=True)
    url = polled(screen, "tagihan")
    assert poll(keeper, url, "tagihan").status_code == 204
    visitor_pays(app, stand, purchase, sandbox)
    assert all(r.status_code == 200 for r in deliver(keeper, sandbox))
    paid = poll(keeper, url, "tagihan")
    assert paid.status_code == 200 and "LUNAS" in paid.get_data(as_text=True)


def test_the_dashboard_says_nothing_changed_until_a_sale(app, keeper, stand):
    app.config["FAIR_DASHBOARD_SECONDS"] = 0
    UserFactory(email="dinas@contoh.id", roles=["organizer"])
    office = app.test_client()  # IsolatedClient (the client fixture set it)
    AuthActions(office).login("dinas@contoh.id")
    dashboard = "/pameran/pameran-situ/dasbor"
    first = office.get(dashboard).get_data(as_text=True)
    assert 'data-total-fair="0"' in first
    url = polled(first, "dasbor-angka")
    assert poll(office, url, "dasbor-angka").status_code == 204
    assert sell(keeper, stand, method="cash", json=True, **keripik(2)).status_code == 201
    fresh = poll(office, url, "dasbor-angka")
    assert fresh.status_code == 200 and 'data-total-fair="30000"' in fresh.get_data(as_text=True)
    # A shop's new name (the catalogue) shows too.
    stand["stand"].shop.name = "Keripik Bu Sri Baru"
    db.session.commit()
    renamed = poll(office, polled(fresh.get_data(as_text=True), "dasbor-angka"), "dasbor-angka")
    assert renamed.status_code == 200 and "Keripik Bu Sri Baru" in renamed.get_data(as_text=True)


def test_a_stand_of_another_fair_changes_nothing_it_does_not_show(app, keeper, stand):
    """Versions count per stand: a sale elsewhere leaves this till's list quiet."""
    other_fair = Fair(name="Pameran Lain", slug="pameran-lain", venue="Alun-alun",
                      starts_on=date.today(), ends_on=date.today() + timedelta(days=1))
    other = Stand(fair=other_fair, code="Z-01", shop=stand["stand"].shop)
    db.session.add_all([other_fair, other])
    db.session.commit()
    url = polled(keeper.get(stand["url"] + "/kasir").get_data(as_text=True), "penjualan")
    from storefront.exhibitions import till

    till.ring_up(other, [], 5_000, method="cash", key="kunci-lain-0001")
    db.session.commit()
    assert poll(keeper, url, "penjualan").status_code == 204
