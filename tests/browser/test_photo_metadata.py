"""Markup in an uploaded photo's metadata never reaches anyone's browser (issue 20.9).

A seller uploads, in Chromium through the real forms, two product photos (a JPEG and a
PNG) and a shop logo whose every text field of metadata carries a payload: EXIF
ImageDescription, Make, Model, Software, Artist, Copyright, DocumentName, the Windows
XPTitle, XPComment, XPAuthor, XPKeywords and XPSubject (UTF-16), UserComment; XMP
dc:title, dc:description, dc:creator and photoshop:Headline; a JPEG comment; PNG tEXt and
iTXt chunks. Each payload is markup that would load from a second loopback server, set
``window.__xss`` or open a dialog, and carries a word of its own (``gerai-meta-<field>``).

Every page that shows one of the pictures is then opened in Chromium as every role that
sees it (a visitor, a shopper, the seller, the fair's organizer, a cooperative manager,
the office): no request reaches the payload server, no dialog opens, nothing sets
``window.__xss``, and no word of the metadata is anywhere: not in a page's HTML (an alt
text, a title, a caption), not in a picture the browser fetched, not in a stored file.
(The category, fair and cooperative names the office writes are in USER_TEXT and covered,
with every other typed column, by tests/browser/test_injection.py.)
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from PIL import Image, PngImagePlugin

from tests.browser.conftest import log_in
from tests.browser.test_injection import ROLES, PayloadHost

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_pictures import encode, photo_like  # noqa: E402

pytestmark = pytest.mark.browser

WORD = "gerai-meta"
EXIF_TEXT = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software",
             0x013B: "Artist", 0x8298: "Copyright", 0x010D: "DocumentName"}
EXIF_XP = {0x9C9B: "XPTitle", 0x9C9C: "XPComment", 0x9C9D: "XPAuthor", 0x9C9E: "XPKeywords",
           0x9C9F: "XPSubject"}
XMP_FIELDS = ("dc:title", "dc:description", "dc:creator", "photoshop:Headline")


def payload(host: str, field: str) -> str:
    return (f'<img src="//{host}/{field}" onerror="window.__xss=\'{field}\'">'
            f"<script>alert('{field}')</script><b hx-get=//{host}/hx-{field} hx-trigger=load>"
            f"{WORD}-{field}</b>")


def _exif(host: str) -> bytes:
    exif = Image.Exif()
    for tag, field in EXIF_TEXT.items():
        exif[tag] = payload(host, field)
    for tag, field in EXIF_XP.items():  # Windows writes these as UTF-16, ending in a NUL
        exif[tag] = payload(host, field).encode("utf-16le") + b"\0\0"
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0" + payload(host, "UserComment").encode()
    return exif.tobytes()


def _xmp(host: str) -> str:
    from xml.sax.saxutils import escape

    fields = "".join(f"<{name}>{escape(payload(host, name.split(':')[1]))}</{name}>"
                     for name in XMP_FIELDS)
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
            '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            f'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">{fields}'
            "</rdf:Description></rdf:RDF></x:xmpmeta>")


def poisoned_pictures(host: str) -> dict[str, bytes]:
    """A JPEG, a PNG and a logo, each carrying every payload in its metadata."""
    image = photo_like((900, 700), seed=11)
    jpeg = encode(image, "JPEG", quality=85, exif=_exif(host), xmp=_xmp(host).encode(),
                  comment=payload(host, "JpegComment").encode())
    info = PngImagePlugin.PngInfo()
    for key in ("Title", "Description", "Author", "Comment"):
        info.add_text(key, payload(host, f"png{key}"))
    info.add_itxt("XML:com.adobe.xmp", _xmp(host))
    png = encode(image.resize((600, 460)), "PNG", pnginfo=info, exif=_exif(host))
    logo = encode(photo_like((400, 400), seed=12), "JPEG", quality=85, exif=_exif(host),
                  xmp=_xmp(host).encode())
    for data in (jpeg, png, logo):  # the payloads really are in there
        assert data.count(WORD.encode()) >= 10
    return {"kripik-meta.jpg": jpeg, "kripik-meta.png": png, "logo-meta.jpg": logo}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A small demo city of its own, served from a thread, and the payload server."""
    from sqlalchemy import select

    from storefront import create_app
    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.catalogue.models import Product, Shop
    from storefront.demo.seed import DEMO_PASSWORD, seed
    from storefront.exhibitions.models import Stand, StandItem
    from storefront.extensions import db
    from storefront.indexing.services import reindex
    from tests.conftest import _test_config
    from tests.helpers import Served

    folder = tmp_path_factory.mktemp("photo-metadata")
    app = create_app(_test_config(f"sqlite:///{folder / 'gerai.db'}", folder / "media"))
    host = PayloadHost()
    served = Served(app)
    try:
        with app.app_context():
            db.create_all()
            seed(products=30, shops=6, media_root=folder / "media")
            organizer = User(name="Penyelenggara", email=ROLES["organizer"],
                             password_hash=hash_password(DEMO_PASSWORD))
            organizer.roles = [UserRole(role="organizer")]
            db.session.add(organizer)
            # A product on a verified shop's stand: the catalogue, the shop, the stand
            # page, the till and the poster all show it.
            stand, product = db.session.execute(
                select(Stand, Product).join(StandItem, StandItem.stand_id == Stand.id)
                .join(Product, Product.id == StandItem.product_id).join(Shop)
                .where(Shop.status == "verified", Product.status == "active",
                       Product.stock > 0).order_by(Stand.id, Product.id)).first()
            found = {"seller": stand.shop.owner.email, "product": product.id,
                     "product_name": product.name, "shop": stand.shop.slug,
                     "fair": stand.fair.slug, "stand": stand.code}
            db.session.commit()
            reindex()
            db.session.remove()
        yield {"url": served.url, "app": app, "host": host, "media": folder / "media",
               "password": DEMO_PASSWORD, **found}
    finally:
        served.close()
        host.close()
        with app.app_context():
            db.engine.dispose()


def _upload_as_the_seller(browser, city: dict, pictures: dict[str, bytes], folder: Path) -> None:
    context = browser.new_context(base_url=city["url"], viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        tab = log_in(context, city["seller"], city["password"])
        files = {}
        for name, data in pictures.items():
            files[name] = folder / name
            files[name].write_bytes(data)
        tab.goto(f"/penjual/produk/{city['product']}")
        upload = tab.locator("form.upload")
        upload.locator("input[type=file]").set_input_files(
            [str(files["kripik-meta.jpg"]), str(files["kripik-meta.png"])])
        upload.get_by_role("button", name="Unggah foto").click()
        tab.wait_for_load_state("networkidle")
        # The JPEG becomes the cover: then the catalogue, the stand, the till and the
        # poster show it too, not only the product's own page.
        tab.goto(f"/penjual/produk/{city['product']}")
        photos = tab.locator("ol.photos > li")  # the demo's own photos, then the JPEG, the PNG
        photos.nth(photos.count() - 2).get_by_role("button", name="Jadikan sampul").click()
        tab.wait_for_load_state("networkidle")
        tab.goto("/penjual/toko")
        for name, value in (("owner_name", "Sri Wahyuni"), ("whatsapp", "081234567890"),
                            ("address", "Jl. Situ Cipondoh 1")):
            box = tab.locator(f"[name={name}]")
            if not box.input_value():  # the demo leaves some of a shop's details empty
                box.fill(value)
        tab.locator("input[type=file][name=logo]").set_input_files(str(files["logo-meta.jpg"]))
        tab.get_by_role("button", name="Simpan").click()
        tab.wait_for_load_state("networkidle")
        saved = tab.content()
        assert "Data toko disimpan" in saved, re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)',
                                                          saved)
    finally:
        context.close()


def _picture_keys(city: dict) -> list[str]:
    from sqlalchemy import select

    from storefront.catalogue.models import ProductImage, Shop
    from storefront.extensions import db

    with city["app"].app_context():
        keys = list(db.session.scalars(select(ProductImage.key).where(
            ProductImage.product_id == city["product"])))
        logo = db.session.scalar(select(Shop.logo_key).where(Shop.slug == city["shop"]))
        db.session.remove()
    return [key for key in [*keys, logo] if key]


def _start_pages(city: dict) -> dict[str | None, list[str]]:
    product, shop, fair, stand = city["product"], city["shop"], city["fair"], city["stand"]
    public = ["/", f"/katalog?q={city['product_name'].split()[0]}", f"/toko/{shop}",
              f"/produk/{product}", f"/pameran/{fair}/{stand}", "/toko"]
    return {
        None: public,
        ROLES["shopper"]: public,
        city["seller"]: ["/penjual", "/penjual/produk", f"/penjual/produk/{product}",
                         "/penjual/toko", f"/pameran/{fair}/{stand}/kasir",
                         f"/pameran/{fair}/{stand}/kasir/barang", *public],
        ROLES["organizer"]: ["/pameran", f"/pameran/{fair}", f"/pameran/{fair}/dasbor",
                             f"/pameran/{fair}/stan/{stand}/poster", *public],
        ROLES["cooperative manager"]: ["/koperasi", *public],
        ROLES["admin"]: ["/admin/verifikasi", "/admin/toko", f"/pameran/{fair}",
                         f"/pameran/{fair}/stan/{stand}/poster", *public],
    }


def _pages_showing(city: dict, email: str | None, keys: list[str], limit: int = 60) -> list[str]:
    """Same-site pages the person reaches that show one of the pictures (found over HTTP,
    one page per path shape), to open in Chromium."""
    from tests.outside.conftest import Browser
    from tests.outside.test_user_text_containers import SKIP

    found, seen, shapes = [], set(), Counter()
    with Browser(city["url"]) as person:
        if email:
            assert person.login(email, city["password"]).status_code == 200, email
        queue = list(_start_pages(city)[email])
        while queue and len(seen) < limit:
            url = urldefrag(queue.pop(0))[0]
            path = urlsplit(url).path
            shape = re.sub(r"\d+", "#", path)
            if url in seen or SKIP.search(path) or shapes[shape]:
                continue
            seen.add(url)
            answer = person.get(url)
            if "text/html" not in answer.headers.get("Content-Type", ""):
                continue
            if any(key.rsplit(".", 1)[0].rsplit("/", 1)[-1] in answer.text for key in keys):
                shapes[shape] += 1
                found.append(url)
            queue += re.findall(r'href="(/[^"/][^"]*)"', answer.text)
    return found


# Markup a payload would have made, were it not inert.
INJECTED = """host => [...document.querySelectorAll(
    'img[src*="' + host + '"], [hx-get*="' + host + '"], script:not([src])')]
  .filter(e => e.tagName !== 'SCRIPT' || e.textContent.includes('alert('))
  .map(e => e.outerHTML.slice(0, 120))"""


def test_markup_in_a_photos_metadata_never_reaches_a_page_for_any_role(browser, city,
                                                                        tmp_path):
    host = city["host"]
    before = set(_picture_keys(city))  # the demo's own picture of the product
    _upload_as_the_seller(browser, city, poisoned_pictures(host.host), tmp_path)
    keys = [key for key in _picture_keys(city) if key not in before]
    with city["app"].app_context():  # what the worker does: the search index learns the cover
        from storefront.extensions import db
        from storefront.indexing.services import drain_outbox

        drain_outbox()
        db.session.remove()
    assert len(keys) == 3, keys  # two product photos and the logo were kept
    stored = [p for p in Path(city["media"]).rglob("*") if p.is_file()
              and any(key.rsplit(".", 1)[0].rsplit("/", 1)[-1] in p.name for key in keys)]
    assert stored
    assert [p.name for p in stored if WORD.encode() in p.read_bytes()
            or WORD.encode("utf-16le") in p.read_bytes()] == []
    problems, opened = [], {}
    for role, email in ROLES.items():
        email = city["seller"] if role == "seller" else email
        pages = opened[role] = _pages_showing(city, email, keys)
        context = browser.new_context(base_url=city["url"], viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        pictures: set[str] = set()  # every picture the browser fetched from Gerai
        context.on("request", lambda request, pictures=pictures: pictures.add(request.url)
                   if request.resource_type == "image"
                   and request.url.startswith(city["url"]) else None)
        try:
            tab = log_in(context, email, city["password"]) if email else context.new_page()
            tab.on("dialog", lambda dialog, role=role: (
                problems.append(f"{role}: a dialog opened: {dialog.message}"), dialog.dismiss()))
            for url in pages:
                tab.goto(url, wait_until="load")
                tab.mouse.wheel(0, 4000)  # lazy pictures come into view and load
                tab.wait_for_timeout(250)
                html = tab.content()
                if WORD in html:
                    problems.append(f"{role}: {url} shows {re.findall(WORD + r'-[A-Za-z:]+', html)}")
                if tab.evaluate("window.__xss") is not None:
                    problems.append(f"{role}: a payload ran on {url}")
                problems += [f"{role}: {url}: {made}" for made in tab.evaluate(INJECTED, host.host)]
            for picture in sorted(pictures):  # fetched again as this person, bytes and all
                body = context.request.get(picture).body()
                if WORD.encode() in body or WORD.encode("utf-16le") in body:
                    problems.append(f"{role}: the picture {picture} carries the metadata")
        finally:
            context.close()
    print("\npages showing the pictures, per role:",
          {role: len(pages) for role, pages in opened.items()})
    assert not host.hits, f"the payload server was asked: {host.hits}"
    assert problems == []
    # Every role was shown the pictures somewhere (else this proves nothing for it).
    assert all(opened.values()), {role: len(pages) for role, pages in opened.items()}
