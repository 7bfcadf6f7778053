"""A static QRIS sticker whose text carries a control character is refused with a message
next to the field, and nothing is saved (found by the outside review of issue 20).

QRIS is EMVCo's character set: printable ASCII. A sticker's payload with a correct CRC and
a NUL, an ESC or a BEL in the merchant name was read as a QRIS, shown, and saved on the
shop; on PostgreSQL the NUL made the save a 500 (text cannot hold it). Whoever pastes or
photographs such a code gets the "not a QRIS" message instead, on both databases.
"""

from __future__ import annotations

import pytest

from storefront.extensions import db
from storefront.payments import qris
from tests.functional.test_static_qris import upload


def sticker_named(name: str) -> str:
    """A static QRIS with a correct CRC whose merchant name is ``name`` as it is."""
    good = qris.build(merchant_name="TOKO UJI", merchant_city="TANGERANG",
                      nmid="ID1025123456789", amount=None)
    body = good[:-4].replace(qris._field("59", "TOKO UJI"), f"59{len(name):02d}{name}")
    return body + qris.crc(body)


@pytest.mark.parametrize("name", ["TOKO\x00UJI", "TOKO\x1b[31mUJI", "TOKO\x07UJI", "TOKO\tUJI"],
                         ids=["NUL", "ESC", "BEL", "TAB"])
@pytest.mark.parametrize("action", ["baca", "simpan"])
def test_a_sticker_with_a_control_character_is_refused_and_nothing_saved(keeper, stand,
                                                                          name, action):
    answer = upload(keeper, {"aksi": action, "isi": sticker_named(name)})
    assert answer.status_code == 422
    assert "bukan QRIS" in answer.get_data(as_text=True)
    db.session.refresh(stand["stand"].shop)
    assert stand["stand"].shop.static_qris is None


def test_a_sticker_with_printable_markup_stays_text(keeper, stand):
    saved = upload(keeper, {"aksi": "simpan", "isi": sticker_named("<b>TOKO</b>")})
    assert saved.status_code == 303
    page = keeper.get("/penjual/qris").get_data(as_text=True)
    assert "&lt;b&gt;TOKO&lt;/b&gt;" in page and "<b>TOKO</b>" not in page
