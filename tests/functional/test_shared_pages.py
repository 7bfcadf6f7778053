"""A stand page is rendered once for the many phones that scan its poster (issue 16), yet
each visitor gets their own CSP nonce and CSRF token, and any change to the stand's goods,
prices or state shows at once."""

from __future__ import annotations

import re

from sqlalchemy import select

from storefront.checkout.models import Purchase
from storefront.exhibitions.models import StandItem
from storefront.extensions import db
from storefront.fragments import NONCE_MARK, TOKEN_MARK
from tests.conftest import IsolatedClient
from tests.functional.test_fair_till import items
from tests.helpers import csrf_token

NONCE = re.compile(r'nonce="([^"]+)"')
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def test_phones_share_the_page_but_not_its_nonce_or_token(app, stand):
    app.test_client_class = IsolatedClient  # each request in its own context, as served
    first, second = app.test_client(), app.test_client()
    one, two = first.get(stand["url"]), second.get(stand["url"])
    a, b = one.get_data(as_text=True), two.get_data(as_text=True)
    assert one.status_code == two.status_code == 200
    assert NONCE_MARK not in b and TOKEN_MARK not in b
    nonce_a, nonce_b = NONCE.search(a).group(1), NONCE.search(b).group(1)
    token_a, token_b = TOKEN.search(a).group(1), TOKEN.search(b).group(1)
    assert nonce_a != nonce_b and token_a != token_b
    assert f"'nonce-{nonce_b}'" in two.headers["Content-Security-Policy"]
    assert a.replace(nonce_a, "N").replace(token_a, "T") == \
        b.replace(nonce_b, "N").replace(token_b, "T")
    # The second phone's own token works for its basket.
    answer = second.post(stand["url"] + "/beli", data={
        f"q-{items(stand)['Kopi Robusta'].id}": "1", "csrf_token": token_b})
    assert answer.status_code == 303 and "/bayar/" in answer.headers["Location"]
    assert db.session.scalar(select(Purchase)) is not None


def test_a_change_to_the_stands_goods_shows_at_once(app, stand):
    visitor = app.test_client()
    assert "Kopi Robusta" in visitor.get(stand["url"]).get_data(as_text=True)
    db.session.delete(db.session.scalar(select(StandItem).where(
        StandItem.product_id == stand["kopi"].id)))
    stand["keripik"].price = 17_500
    db.session.commit()
    page = app.test_client().get(stand["url"]).get_data(as_text=True)
    assert 'id="q-' in page and "Rp17.500" in page
    assert "Kopi Robusta · " not in page


def test_a_visitor_with_an_account_or_a_message_gets_their_own_page(app, keeper, stand):
    app.test_client().get(stand["url"])  # cached for plain visitors
    page = keeper.get(stand["url"]).get_data(as_text=True)
    assert "Keluar" in page and "Masuk" not in page  # the keeper's own header
    assert csrf_token(keeper, stand["url"])
