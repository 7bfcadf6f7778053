"""Every piece of text a person typed sits inside an element htmx ignores (issue 13.2).

Escaping is the defence; this is the one behind it. htmx 2 processes nothing inside an
``hx-disable`` element, so if some future template, filter or library trusts a name as
markup again (as a lazy translated string once did in the admin's category choices),
the ``hx-post`` in it still does nothing.

The test fills a demo Gerai with the usual life of a fair (orders, a till sale and its
cancellation, a payout, a stock correction, a CSV import, a cooperative invitation),
then writes a marker into every column people type into, and walks the site over HTTP
as a visitor, a shopper, a seller, a cooperative manager and the office. On every HTML
page, each text node holding the marker must have an ``hx-disable`` element around it,
and no element may carry the marker's attributes (that would mean it was not escaped).
A new page or a new field shows up here without anyone writing a test for it.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from sqlalchemy import String, Text, select, update

from storefront import fragments
from storefront.accounts.models import User
from storefront.catalogue.models import Product, ProductVariant, Shop
from storefront.checkout.models import Purchase
from storefront.demo.seed import DEMO_PASSWORD, seed
from storefront.exhibitions.models import Stand
from storefront.extensions import db
from storefront.indexing.services import reindex
from storefront.orders.models import Order, OrderLine
from storefront.payments.models import StrayPayment
from storefront.timeutil import utcnow
from tests.outside.conftest import Browser

MARKER = "<i hx-get=/jahat>"
FOUND = "hx-get=/jahat"

# Every column a person writes, as table -> columns. (Codes, slugs, statuses, emails and
# numbers are chosen from lists or checked against a pattern.)
USER_TEXT = {
    "category": ("name",),
    "fair": ("name", "venue"),
    "user": ("name",),
    "audit_entry": ("note",),
    "shop": ("name", "description", "owner_name", "address", "rejection_reason"),
    "cooperative": ("name", "legal_number"),
    "import_job": ("filename", "error"),
    "payout": ("reference", "note"),
    "product": ("name", "description", "sku", "option_name"),
    "stand": ("zone", "notes"),
    "product_image": ("alt",),
    "product_variant": ("name", "sku"),
    "purchase": ("buyer_name",),
    "order": ("buyer_name", "delivery_address", "tracking_note", "cancel_reason"),
    "order_line": ("name", "variant_name"),
    "stock_adjustment": ("note",),
    "stray_payment": ("refunded_by_name",),
}

# Where text is only ever text to the parser (RCDATA / raw text): nothing to disable.
RAW_TEXT = {"title", "textarea", "script", "style"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
SKIP = re.compile(r"^/(static|media|keluar|sandbox-gateway)|\.(csv|xlsx)$|/(ekspor|berkas)\b")


class UserTextCheck(HTMLParser):
    """Collects text nodes holding the marker outside any hx-disable element."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.exposed: list[str] = []
        self.shown = 0
        self.injected: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if values.get("hx-get") == "/jahat":
            self.injected.append(self.get_starttag_text())
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if tag not in VOID:
            self.stack.append((tag, "hx-disable" in values))

    def handle_startendtag(self, tag, attrs):
        if dict(attrs).get("hx-get") == "/jahat":
            self.injected.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        if FOUND not in data:
            return
        self.shown += 1
        tags = [tag for tag, _ in self.stack]
        if RAW_TEXT & set(tags) or any(disabled for _, disabled in self.stack):
            return
        self.exposed.append(" > ".join(tags[-4:]) + f": {data.strip()[:50]!r}")


def _token(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def life_of_a_fair(live_url: str) -> dict:
    """Demo data plus what people do with it, through the pages where that is short."""
    seed(products=40, shops=8)
    shop = db.session.scalar(select(Shop).order_by(Shop.id))
    stand = db.session.scalar(select(Stand).where(Stand.shop_id == shop.id))
    buyer = db.session.scalar(select(User).where(User.email == "pembeli@gerai.test"))
    product = db.session.scalar(select(Product).where(Product.shop_id == shop.id, Product.stock > 0,
                                                      Product.status == "active"))
    product.sku, product.option_name = "KRP-1", "Level"
    other = db.session.scalars(select(Product).where(Product.shop_id == shop.id,
                                                     Product.id != product.id)).first()
    other.option_name = "Ukuran"
    other.variants.append(ProductVariant(shop_id=shop.id, name="Besar", sku="KRP-2B",
                                         price=other.price, stock=5))
    pending = db.session.scalars(select(Shop).order_by(Shop.id.desc())).first()
    pending.status, pending.rejection_reason = "pending", "Foto toko belum jelas"
    # An online purchase, paid, with one order per shop (checkout itself has its own tests).
    now = utcnow()
    purchase = Purchase(code="GR-TEST-1", attempt="uji-1", buyer_id=buyer.id, buyer_name="Sari",
                        buyer_whatsapp="081234567890", status="paid", gateway="sandbox", total=
                        product.price + 10_000, paid_at=now, created_at=now,
                        expires_at=now + timedelta(minutes=30))
    order = Order(code="GR-TEST-1-1", shop_id=shop.id, purchase=purchase, buyer_id=buyer.id,
                  buyer_name="Sari", buyer_whatsapp="081234567890", status="shipped",
                  fulfilment="delivery", delivery_address="Jl. Situ 1", subtotal=product.price,
                  delivery_fee=10_000, total=product.price + 10_000, tracking_note="JNE 123",
                  paid_at=now)
    order.lines.append(OrderLine(product_id=product.id, name=product.name, variant_name="Pedas",
                                 quantity=1, unit_price=product.price, line_total=product.price))
    # A QR paid after its charge closed, with an app that takes no refund: the keeper
    # gives it back in cash below, and types who did.
    late = StrayPayment(gateway="xendit", reference="qrpy_uji_terlambat", payment_id="qr_uji_1",
                        stand_id=stand.id, amount=15_000, source="GOPAY", state="cash_needed",
                        reason="Dibayar setelah tagihan kedaluwarsa.")
    db.session.add_all([purchase, order, late])
    db.session.commit()
    fair_slug, code, late_id = stand.fair.slug, stand.code, late.id
    shop_id, product_id, seller = shop.id, product.id, shop.owner.email
    db.session.remove()

    with Browser(live_url) as keeper:
        assert keeper.login(seller, DEMO_PASSWORD).status_code == 200
        till = keeper.get(f"/pameran/{fair_slug}/{code}/kasir").text
        item = re.search(r'name="(q-[\w-]+)"', till).group(1)
        key = re.search(r'name="kunci" value="([^"]+)"', till).group(1)
        sold = keeper.post(f"/pameran/{fair_slug}/{code}/kasir/jual",
                           data={"csrf_token": _token(till), "kunci": key, item: "1",
                                 "metode": "cash"})
        assert sold.status_code == 200, sold.text[:300]
        cash_back = keeper.post(f"/pameran/{fair_slug}/{code}/kasir/uang-kembali/{late_id}",
                                data={"csrf_token": _token(till), "nama": "Sri Rahayu"})
        assert cash_back.status_code == 200 and "Sri Rahayu" in cash_back.text
        sale = re.search(rf"/pameran/{fair_slug}/{code}/kasir/penjualan/([\w-]+)/batal", sold.text)
        void = keeper.get(sale.group(0)).text
        assert keeper.post(sale.group(0), data={"csrf_token": _token(void),
                                                "alasan": "Salah ketik"}).status_code == 200
        stock = keeper.get(f"/penjual/produk/{product_id}/stok").text
        keeper.post(f"/penjual/produk/{product_id}/stok",
                    data={"csrf_token": _token(stock), "change": "3", "reason": "restock",
                          "note": "Kiriman pagi", "variant_id": "0"})
        upload = keeper.get("/penjual/produk/impor").text
        rows = "sku,nama,harga,stok,kategori\nIMP-1,Kopi impor,15000,4,tidak-ada\n"
        keeper.post("/penjual/produk/impor", data={"csrf_token": _token(upload)},
                    files={"file": ("katalog.csv", rows.encode(), "text/csv")})
    with Browser(live_url) as office:
        assert office.login("admin@gerai.test", DEMO_PASSWORD).status_code == 200
        page = office.get(f"/admin/toko/{shop_id}/rekening").text
        office.post(f"/admin/toko/{shop_id}/rekening",
                    data={"csrf_token": _token(page), "amount": "10.000", "reference": "BCA 77",
                          "paid_on": now.date().isoformat(), "note": "Transfer pertama"})
        page = office.get("/admin/kategori").text
        office.post("/admin/kategori", data={"csrf_token": _token(page), "name": "Kue kering"})
    return {"seller": seller, "fair": fair_slug, "stand": code, "purchase": "GR-TEST-1",
            "product": product_id}


def shop_and_check_out(person: Browser, product_id: int, name: str = MARKER + "Sari") -> None:
    """A shopper with a cart, at the review step, having typed a name at checkout."""
    page = person.get(f"/produk/{product_id}").text
    assert person.post("/keranjang/tambah", data={"csrf_token": _token(page), "product_id": product_id,
                                                 "quantity": "1"}).status_code == 200
    details = person.get("/checkout").text
    shop = re.search(r'name="antar-(\d+)"', details).group(1)
    answer = person.post("/checkout", data={"csrf_token": _token(details), "name": name,
                                            "whatsapp": "081234567890", f"antar-{shop}": "pickup"})
    assert answer.url.endswith("/checkout/periksa"), answer.text[:300]


def poison(prefix=lambda n, length: MARKER) -> Counter:
    """``prefix(n, length)`` in front of every value people typed, for the n-th column of
    USER_TEXT and its length (None for text); unique names stay unique."""
    written = Counter()
    columns = 0
    for table in db.metadata.sorted_tables:
        for name in USER_TEXT.get(table.name, ()):
            column = table.c[name]
            length = column.type.length if isinstance(column.type, String) and not isinstance(
                column.type, Text) else None
            value = prefix(columns, length) + column
            columns += 1
            if length:
                value = db.func.substr(value, 1, length)
            result = db.session.execute(update(table).where(column.is_not(None)).values({name: value}))
            written[f"{table.name}.{name}"] = result.rowcount
    db.session.commit()
    reindex()
    fragments.bump()
    return written


def _walk(browser: Browser, start: list[str], limit: int = 120) -> tuple[dict, dict, set]:
    """Visits same-site pages from ``start``; a path shape (digits folded) at most twice."""
    seen, shapes, exposed, injected, marked = set(), Counter(), {}, {}, set()
    queue = list(start)
    while queue and len(seen) < limit:
        url = urldefrag(queue.pop(0))[0]
        path = urlsplit(url).path
        shape = re.sub(r"^/(produk/#|toko|koperasi)/[^/]+$", r"/\1/*", re.sub(r"\d+", "#", path))
        if url in seen or SKIP.search(path) or shapes[shape] >= 2:
            continue
        seen.add(url)
        shapes[shape] += 1
        answer = browser.get(url)
        if "text/html" not in answer.headers.get("Content-Type", ""):
            continue
        check = UserTextCheck()
        check.feed(answer.text)
        for where in check.exposed:  # one line per place, however many pages show it
            exposed.setdefault(f"{shape} {where.split(': ')[0]}", f"{url}: {where.split(': ', 1)[1]}")
        if check.injected:
            injected[url] = check.injected
        if check.shown:
            marked.add(shape)
        queue += [link for link in check.links
                  if link.startswith("/") and not link.startswith("//")]
    return exposed, injected, marked


def start_pages(story: dict) -> dict[str | None, list[str]]:
    """Where each person of the story starts walking: their pages that show what people typed."""
    product, fair, stand = story["product"], story["fair"], story["stand"]
    return {
        None: ["/", "/katalog", "/katalog?q=keripik", "/toko", f"/produk/{product}",
               f"/pameran/{fair}/{stand}"],
        "pembeli@gerai.test": ["/akun/pesanan", f"/pesanan/{story['purchase']}", "/keranjang",
                               "/checkout", "/checkout/periksa"],
        story["seller"]: ["/penjual", "/penjual/produk", "/penjual/pesanan", "/penjual/toko",
                          "/penjual/produk/impor", "/penjual/koperasi", "/penjual/rekening",
                          f"/pameran/{fair}/{stand}/kasir", f"/pameran/{fair}/{stand}/kasir/barang"],
        "koperasi@gerai.test": ["/koperasi"],
        "admin@gerai.test": ["/admin/verifikasi", "/admin/kategori", "/admin/audit",
                             "/admin/pengguna?q=gerai", "/pameran", f"/pameran/{fair}",
                             f"/pameran/{fair}/dasbor", f"/pameran/{fair}/rekap",
                             f"/pameran/{fair}/stan/{stand}/poster", "/laporan?menurut=toko",
                             "/laporan?menurut=kategori", "/laporan/naik-kelas", "/admin/koperasi",
                             "/admin/rekening", "/admin/pembayaran"],
    }


def test_every_text_people_typed_is_inside_hx_disable(app, live):
    story = life_of_a_fair(live.url)
    written = poison()
    # (an import's error is written only when one fails)
    assert [column for column, rows in written.items() if not rows] == ["import_job.error"]
    product, fair = story["product"], story["fair"]
    problems, pages_with_text = {}, set()
    for who, start in start_pages(story).items():
        with Browser(live.url) as person:
            if who:
                assert person.login(who, DEMO_PASSWORD).status_code == 200
            if who == "pembeli@gerai.test":
                shop_and_check_out(person, product)
            exposed, injected, marked = _walk(person, start)
        assert injected == {}, f"markup people typed reached the page as markup: {injected}"
        for where, sample in exposed.items():
            problems.setdefault(where, f"{sample} ({who or 'visitor'})")
        pages_with_text |= marked
    assert problems == {}, "text people typed outside hx-disable:\n" + "\n".join(
        f"  {where}\n    {sample}" for where, sample in sorted(problems.items()))
    # The walk must have reached the pages that show what people typed.
    for shape in ("/", "/katalog", "/produk/#/*", "/toko/*", "/keranjang", "/checkout/periksa",
                  "/pesanan/GR-TEST-#", "/penjual/pesanan/#", "/penjual/produk/#/stok",
                  "/penjual/produk/impor/#", "/admin/kategori", "/admin/verifikasi", "/admin/audit",
                  f"/pameran/{fair}/dasbor", f"/pameran/{fair}/A-#/kasir", "/koperasi/*",
                  "/admin/pembayaran"):
        assert shape in pages_with_text, sorted(pages_with_text)
