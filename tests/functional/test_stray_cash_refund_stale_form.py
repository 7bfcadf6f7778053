"""A keeper's stale "given back in cash" form for money the gateway is already giving back
says so, and records nothing (found by the outside review of issue 20).

The till lists a late payment to give back with a cash form while it waits for the
reconciler; if the reconciler has meanwhile asked the gateway to refund it, the form must
not record a cash refund (the payer would be paid twice), and the keeper must not be told
the money "was already given back" while it is still on its way."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.payments.models import PaymentRecord, StrayPayment
from tests.helpers import csrf_token


@pytest.mark.parametrize("state, says", [
    ("refund_pending", "Uang ini sedang dikembalikan lewat gateway"),
    ("refunded", "Uang ini sudah dikembalikan"),
])
def test_a_stale_cash_form_records_nothing_and_says_where_the_money_is(keeper, stand, state,
                                                                       says):
    late = StrayPayment(gateway="xendit", reference="qrpy_basi", payment_id="qr_basi",
                        stand_id=stand["stand"].id, amount=15_000, source="OVO", state=state,
                        reason="Dibayar setelah tagihan dibatalkan.", refund_reference="qrpyr_1")
    db.session.add(late)
    db.session.commit()
    answer = keeper.post(f"{stand['url']}/kasir/uang-kembali/{late.id}", follow_redirects=True,
                         data={"csrf_token": csrf_token(keeper, stand["url"] + "/kasir"),
                               "nama": "Sri Rahayu"})
    assert answer.status_code == 200
    assert says in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(StrayPayment, late.id).state == state
    assert db.session.get(StrayPayment, late.id).refunded_by_name is None
    assert db.session.scalar(select(func.count(PaymentRecord.id))) == 0
