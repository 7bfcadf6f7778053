"""No card number is ever stored or logged by Gerai.

The gateway's hosted page takes the card; Gerai sees only payment ids. After a
checkout paid through the sandbox, every text in every table and every log line is
scanned for digit runs that pass the Luhn check.
"""

import logging
import re

import pytest

from tests.functional.conftest import sandbox, sandbox_app, sandbox_server  # noqa: F401
from tests.functional.test_checkout import deliver, goods, start_purchase  # noqa: F401
from tests.security.conftest import fingerprint

# 15 to 19 digits, as cards are printed today; Indonesian phone numbers (+62 8…) stop at 14.
DIGITS = re.compile(r"(?<!\d)(?:\d[ -]?){14,18}\d(?!\d)")
TEST_CARD = "4242 4242 4242 4242"


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return len(digits) >= 15 and total % 10 == 0


def card_numbers(text: str) -> list[str]:
    return [run for run in DIGITS.findall(text) if luhn_ok(run)]


def test_the_scanner_finds_a_card_and_passes_other_numbers():
    assert card_numbers(f"dibayar dengan {TEST_CARD} kemarin") == [TEST_CARD]
    assert card_numbers("WA +62 812-1111-2222, pesanan GR-261122-ABC123, Rp1.500.000") == []


@pytest.mark.usefixtures("sandbox_app")
def test_nothing_card_like_is_kept_after_paying(app, client, goods, sandbox, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)
    deliver(client, sandbox)
    client.get(f"/pesanan/{purchase.code}")
    found = {table: card_numbers(" ".join(rows)) for table, rows in fingerprint().items()}
    assert not any(found.values()), found
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert not card_numbers(logged)
