"""The stand poster printed on A5 (issue 14.10): the QR is its main element, at least 10 cm
and centred, with the stand's name and "Scan untuk bayar" large; all on one sheet."""

import re

import pytest

from tests.browser.test_fair import stand  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

A5_WIDTH_PX = round(148 / 25.4 * 96)  # CSS px at 96 per inch
MM = 96 / 25.4


@pytest.fixture
def organizer(live_app):
    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.extensions import db
    from tests.conftest import TEST_PASSWORD

    with live_app.app_context():
        user = db.session.query(User).filter_by(email="poster-organizer@gerai.test").one_or_none()
        if user is None:
            user = User(name="Panitia Poster", email="poster-organizer@gerai.test",
                        password_hash=hash_password(TEST_PASSWORD))
            user.roles = [UserRole(role="organizer")]
            db.session.add(user)
            db.session.commit()
        db.session.remove()
    return "poster-organizer@gerai.test"


def test_poster_qr_is_at_least_10_cm_centred_with_name_and_scan_text(new_context, stand, organizer):  # noqa: F811
    from tests.browser.conftest import log_in

    page = log_in(new_context(), organizer)
    page.set_viewport_size({"width": A5_WIDTH_PX, "height": round(210 * MM)})
    page.goto(stand["till"].replace("/A-01/kasir", "/stan/A-01/poster"))
    page.emulate_media(media="print")
    qr = page.locator(".qr svg").bounding_box()
    assert qr["width"] >= 100 * MM and qr["height"] >= 100 * MM, f"QR {qr['width'] / MM:.0f} mm"
    left, right = qr["x"], A5_WIDTH_PX - (qr["x"] + qr["width"])
    assert abs(left - right) <= 2, f"off centre: {left:.0f} px left, {right:.0f} px right"
    scan = page.get_by_text("Scan untuk bayar")
    assert float(scan.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 32  # 24 pt
    name = page.locator("h1")
    assert "Keripik Bu Sri" in name.inner_text()
    assert float(name.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 32
    pdf = page.pdf(format="A5", print_background=True)
    assert re.findall(rb"/Count (\d+)", pdf) == [b"1"], "the poster needs more than one A5 sheet"
