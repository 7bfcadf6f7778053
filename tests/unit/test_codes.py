"""Purchase and order codes: what people read out at a stand, unique by a wide margin."""


def test_purchase_and_order_codes_carry_fifty_random_bits_in_an_unambiguous_alphabet():
    """A fair day's 50,000 codes must not collide (a unique violation is a 500 at the till)."""
    import math
    import re
    from unittest import mock

    from storefront.checkout import services

    with mock.patch.object(services, "today_in_jakarta",
                           return_value=__import__("datetime").date(2026, 11, 30)):
        codes = {services._code("GR") for _ in range(20_000)}
    assert len(codes) == 20_000
    assert all(re.fullmatch(r"GR-261130-[0-9A-HJKMNP-TV-Z]{10}", code) for code in codes)
    assert len(max(codes, key=len)) <= 24  # the code column
    assert 10 * math.log2(len(services.CODE_ALPHABET)) >= 50
