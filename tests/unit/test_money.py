import pytest
from hypothesis import given
from hypothesis import strategies as st

from storefront.money import MAX_PRICE, format_rupiah, parse_rupiah


@pytest.mark.parametrize("amount, shown", [
    (0, "Rp0"), (500, "Rp500"), (15_000, "Rp15.000"), (1_250_000, "Rp1.250.000"), (-2_000, "-Rp2.000"),
])
def test_prices_read_the_indonesian_way(amount, shown):
    assert format_rupiah(amount) == shown


@pytest.mark.parametrize("typed, amount", [
    ("15.000", 15_000), ("15000", 15_000), ("Rp15.000", 15_000), ("Rp 15.000", 15_000),
    ("rp. 1.250.000", 1_250_000), ("Rp15.000,00", 15_000), ("  7500 ", 7_500), ("0", 0),
])
def test_what_sellers_type_is_understood(typed, amount):
    assert parse_rupiah(typed) == amount


@pytest.mark.parametrize("typed", [
    "", "abc", "15,5", "Rp15.000,50", "1.5", "15.00", "-5000", "1e6", "Rp", "15 000 000 000 000",
    "١٥٠٠٠",
])
def test_nonsense_is_refused(typed):
    with pytest.raises(ValueError):
        parse_rupiah(typed)


@given(st.integers(min_value=0, max_value=MAX_PRICE))
def test_format_then_parse_gives_the_amount_back(amount):
    assert parse_rupiah(format_rupiah(amount)) == amount


@given(st.text(max_size=40))
def test_any_text_either_parses_or_says_why(text):
    try:
        value = parse_rupiah(text)
    except ValueError:
        return
    assert 0 <= value <= MAX_PRICE
