"""Text people type is escaped wherever it meets markup (issue 13.2).

A lazy translated string interpolating a category name went raw into an admin's
``<option>``: WTForms trusted the lazy string's ``__html__``. Every lazy string is now
text, and the few places that pass markup through on purpose are listed here, so a
new one is a decision someone reviews, not an accident.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import flash, render_template_string
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from storefront import create_app
from storefront.forms import GeraiQueryForm

ROOT = Path(__file__).resolve().parents[2]
TYPED = "<p hx-post=/admin/pengguna/1/peran hx-trigger=load> & co"
ESCAPED = "&lt;p hx-post=/admin/pengguna/1/peran hx-trigger=load&gt; &amp; co"


@pytest.fixture(scope="module")
def app():
    return create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_a_lazy_string_is_escaped_in_a_template(app):
    with app.test_request_context("/"):
        shown = render_template_string("{{ a }}|{{ b }}", a=_l("Sub dari %(name)s", name=TYPED),
                                       b=lazy_ngettext("%(num)d %(name)s", "%(num)d %(name)s", 2,
                                                       name=TYPED))
    assert shown == f"Sub dari {ESCAPED}|2 {ESCAPED}"


def test_a_lazy_string_is_escaped_as_a_choice_label_and_an_error(app):
    class Form(GeraiQueryForm):
        pick = SelectField(_l("Pilih %(name)s", name=TYPED))

    with app.test_request_context("/"):
        form = Form(None)
        form.pick.choices = [SelectChoice("1", _l("Sub dari %(name)s", name=TYPED))]
        form.pick.errors = [_l("Salah: %(name)s", name=TYPED)]
        html = render_template_string("{{ f.pick.label }}{{ f.pick() }}{{ f.pick.errors[0] }}",
                                      f=form)
    assert "<p " not in html
    assert html.count(ESCAPED) == 3


def test_a_flashed_lazy_string_stays_text_through_the_session(app):
    @app.get("/_flash_test")
    def set_flash():
        flash(_l("Kategori %(name)s ditambahkan.", name=TYPED))
        return "ok"

    @app.get("/_flash_test_show")
    def show_flash():
        return render_template_string("{% for m in get_flashed_messages() %}{{ m }}{% endfor %}")

    client = app.test_client()
    client.get("/_flash_test")
    shown = client.get("/_flash_test_show").get_data(as_text=True)
    assert shown == f"Kategori {ESCAPED} ditambahkan."


# Markup that is passed through on purpose, and why it is safe.
ALLOWED_SAFE = {
    # inline SVG from segno; the URL is encoded as modules, its <title> is the constant "QR"
    ("exhibitions/poster.html", "qr|safe"),
    ("exhibitions/till.html", "qr|safe"),
    # the same for a QRIS payload (storefront/qrcodes.py): the text is only modules
    ("exhibitions/poster.html", "static_qr|safe"),
    ("exhibitions/pay.html", "qr|safe"),
    ("checkout/done.html", "qr|safe"),
    ("members/receipt.html", "qr|safe"),
    ("seller/qris.html", "preview|safe"),
    # search.highlight escapes the whole name and adds only <mark>
    ("macros.html", "highlight|safe"),
}
ALLOWED_MARKUP = {
    # a block of a template rendered with autoescape, cached and put back in its page
    "storefront/exhibitions/views.py",
}


def test_markup_passes_through_only_where_it_was_decided():
    found = set()
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "autoescape false" not in text, path
        for match in re.finditer(r"\{\{[^}]*?(\w+)\s*\|\s*safe", text):
            found.add((str(path.relative_to(ROOT / "templates")), f"{match.group(1)}|safe"))
    assert found == ALLOWED_SAFE

    markup = {str(p.relative_to(ROOT)) for p in (ROOT / "storefront").rglob("*.py")
              if re.search(r"\bMarkup\(", p.read_text()) and p.name != "i18n.py"}
    assert markup == ALLOWED_MARKUP


def test_lazy_strings_interpolate_only_numbers():
    """Text someone typed goes through gettext at request time, never into a lazy string.

    (Lazy strings are escaped now; this keeps the habit that made the bug impossible.)
    """
    offenders = []
    for path in (ROOT / "storefront").rglob("*.py"):
        for match in re.finditer(r"_l\(\s*\"([^\"]*%\((\w+)\)s[^\"]*)\"", path.read_text()):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(1)}")
    assert offenders == []
