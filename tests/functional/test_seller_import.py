"""A seller importing a catalogue file (CSV or XLSX) and exporting it again."""

import codecs
import csv
import io
import re
import threading
import time
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from storefront.catalogue.models import Product, ProductVariant, StockAdjustment
from storefront.extensions import db
from storefront.indexing.services import pending_count
from storefront.inventory import services as inventory
from storefront.seller import imports
from storefront.seller.commands import catalogue_import
from storefront.seller.import_models import ImportJob
from storefront.timeutil import utcnow
from tests.factories import CategoryFactory, ProductFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token, htmx_get, sync_search

HEADER = ["sku", "nama", "kategori", "harga", "stok", "berat_gram", "status", "deskripsi", "opsi",
          "varian"]
GOOD = [
    HEADER,
    ["KRP-001", "Keripik Singkong Balado", "keripik-camilan", "15.000", "25", "220", "aktif",
     "Renyah, pedas manis.", "", ""],
    ["KAOS-S", "Kaos Batik Tangerang", "kaos", "Rp 85.000", "10", "200", "aktif",
     "Katun \"combed\" 30s.", "Ukuran", "S"],
    ["KAOS-M", "Kaos Batik Tangerang", "Kaos", "90000", "8", "", "", "", "Ukuran", "M"],
]


def csv_bytes(rows, delimiter=",", encoding="utf-8", bom=False) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = out.getvalue().encode(encoding)
    return codecs.BOM_UTF8 + data if bom else data


def xlsx_bytes(rows, extra_sheet=False) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Produk"
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        book.create_sheet("Catatan").append(["jangan diimpor"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def categories(app):
    makanan = CategoryFactory(name="Makanan", slug="makanan")
    camilan = CategoryFactory(name="Keripik & Camilan", slug="keripik-camilan", parent=makanan)
    fashion = CategoryFactory(name="Fashion", slug="fashion")
    kaos = CategoryFactory(name="Kaos", slug="kaos", parent=fashion)
    return {"makanan": makanan, "keripik-camilan": camilan, "fashion": fashion, "kaos": kaos}


@pytest.fixture
def seller(app, auth, categories):
    user = UserFactory(email="sri@contoh.id", roles=["shopper", "seller"])
    shop = ShopFactory(owner=user, name="Dapur Bu Sri", slug="dapur-bu-sri")
    auth.login("sri@contoh.id")
    return shop


def upload(client, data: bytes, filename="katalog.csv"):
    token = csrf_token(client, "/penjual/produk/impor")
    return client.post("/penjual/produk/impor", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(data), filename)})


def uploaded_job(client, data: bytes, filename="katalog.csv") -> int:
    response = upload(client, data, filename)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/penjual/produk/impor/(\d+)$", response.headers["Location"]).group(1))


def confirm(client, job_id: int):
    token = csrf_token(client, f"/penjual/produk/impor/{job_id}")
    return client.post(f"/penjual/produk/impor/{job_id}/jalankan", data={"csrf_token": token})


def import_file(client, data: bytes, filename="katalog.csv") -> str:
    job_id = uploaded_job(client, data, filename)
    assert confirm(client, job_id).status_code == 303
    return client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def product(sku: str) -> Product:
    db.session.expire_all()
    found = db.session.scalar(select(Product).where(Product.sku == sku))
    if found is None:
        variant = db.session.scalar(select(ProductVariant).where(ProductVariant.sku == sku))
        found = variant.product if variant else None
    return found


def row_html(page: str, number: int) -> str:
    match = re.search(rf'<tr id="baris-{number}".*?</tr>', page, re.S)
    assert match, f"no row {number} in the preview"
    return match.group(0)


# --- template and preview ------------------------------------------------------------------

def test_template_download_imports_cleanly(client, seller):
    response = client.get("/penjual/produk/impor/templat.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == HEADER and len(rows) == 4
    assert [r[9] for r in rows[1:]] == ["", "S", "M"] and rows[2][1] == rows[3][1]
    page = client.get(f"/penjual/produk/impor/{uploaded_job(client, data, 'templat.csv')}")
    assert "3 baru" in page.get_data(as_text=True) and "0 salah" in page.get_data(as_text=True)


def test_import_page_lists_columns_and_categories(client, seller):
    page = client.get("/penjual/produk/impor").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="csrf_token"' in page
    assert "keripik-camilan" in page and "Makanan › Keripik &amp; Camilan" in page
    assert 'href="/penjual/produk/ekspor"' in page


def test_preview_shows_counts_and_writes_nothing(client, seller):
    job_id = uploaded_job(client, csv_bytes(GOOD))
    page = client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
    assert "3 baris:" in page and "3 baru" in page and "0 diperbarui" in page and "0 salah" in page
    assert "Keripik Singkong Balado" in page and "Rp15.000" in page
    assert f'action="/penjual/produk/impor/{job_id}/jalankan"' in page
    assert count(Product) == 0 and count(ProductVariant) == 0
    job = db.session.get(ImportJob, job_id)
    assert job.status == "pending" and job.shop_id == seller.id and job.total == 3


def test_confirm_writes_products_variants_stock_and_reaches_search(client, seller, categories):
    page = import_file(client, csv_bytes(GOOD))
    assert "Impor selesai" in page and "3 baris baru" in page
    assert 'hx-trigger' not in page  # finished: nothing left to poll
    keripik = product("KRP-001")
    assert (keripik.name, keripik.price, keripik.stock, keripik.weight_grams, keripik.status) == \
        ("Keripik Singkong Balado", 15_000, 25, 220, "active")
    assert keripik.category_id == categories["keripik-camilan"].id
    assert keripik.description == "Renyah, pedas manis." and keripik.shop_id == seller.id
    kaos = product("KAOS-S")
    assert kaos.option_name == "Ukuran" and kaos.category_id == categories["kaos"].id
    assert [(v.name, v.sku, v.price, v.stock) for v in kaos.variants] == \
        [("S", "KAOS-S", 85_000, 10), ("M", "KAOS-M", 90_000, 8)]
    assert (kaos.price, kaos.stock, kaos.weight_grams) == (85_000, 18, 200)
    assert kaos.description == 'Katun "combed" 30s.'
    adjustments = db.session.scalars(select(StockAdjustment)).all()
    assert sorted(a.change for a in adjustments) == [8, 10, 25]
    assert {a.reason for a in adjustments} == {"import"}
    assert {a.user_id for a in adjustments} == {seller.owner_id}
    sync_search()
    results = client.get("/katalog?q=keripik balado").get_data(as_text=True)
    assert "Keripik Singkong Balado" in results.replace("<mark>", "").replace("</mark>", "")
    assert "Kaos Batik Tangerang" in client.get("/katalog?q=kaos").get_data(as_text=True) \
        .replace("<mark>", "").replace("</mark>", "")


def test_reimport_updates_by_sku_and_never_duplicates(client, seller):
    import_file(client, csv_bytes(GOOD))
    keripik_id, kaos_id = product("KRP-001").id, product("KAOS-S").id
    untouched = ProductFactory(shop=seller, sku="LAIN-1", name="Kopi Bubuk", price=30_000, stock=4)

    same = client.get(f"/penjual/produk/impor/{uploaded_job(client, csv_bytes(GOOD))}")
    assert "3 tetap" in same.get_data(as_text=True) and "0 baru" in same.get_data(as_text=True)

    changed = [row[:] for row in GOOD]
    changed[1][1], changed[1][3], changed[1][4] = "Keripik Singkong Balado 250 g", "17.500", "30"
    changed[3][4] = "5"
    changed.append(["KAOS-L", "Kaos Batik Tangerang", "kaos", "95.000", "3", "", "", "", "Ukuran", "L"])
    job_id = uploaded_job(client, csv_bytes(changed))
    preview = client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
    assert "1 baru" in preview and "2 diperbarui" in preview and "1 tetap" in preview
    assert "Diperbarui" in row_html(preview, 2) and "Baru" in row_html(preview, 5)
    confirm(client, job_id)

    assert count(Product) == 3 and count(ProductVariant) == 3
    keripik, kaos = product("KRP-001"), product("KAOS-S")
    assert keripik.id == keripik_id and kaos.id == kaos_id
    assert (keripik.name, keripik.price, keripik.stock) == ("Keripik Singkong Balado 250 g", 17_500, 30)
    assert keripik.slug == "keripik-singkong-balado-250-g"
    assert [(v.name, v.stock) for v in kaos.variants] == [("S", 10), ("M", 5), ("L", 3)]
    assert (kaos.price, kaos.stock) == (85_000, 18)
    changes = db.session.execute(select(StockAdjustment.change, StockAdjustment.stock_after)
                                 .where(StockAdjustment.product_id == keripik_id)
                                 .order_by(StockAdjustment.id)).all()
    assert changes == [(25, 25), (5, 30)]
    assert db.session.scalar(select(func.count()).select_from(StockAdjustment)
                             .where(StockAdjustment.reason != "import")) == 0
    db.session.refresh(untouched)
    assert (untouched.name, untouched.price, untouched.stock) == ("Kopi Bubuk", 30_000, 4)


def test_a_product_without_sku_is_matched_by_name_not_duplicated(client, seller, categories):
    old = ProductFactory(shop=seller, name="Kue Lapis Legit", sku=None, price=120_000, stock=2,
                         category=categories["makanan"])
    rows = [HEADER, ["KUE-01", "Kue Lapis Legit", "", "125.000", "", "", "", "", "", ""]]
    page = import_file(client, csv_bytes(rows))
    assert "1 baris diperbarui" in page
    db.session.refresh(old)
    assert (old.sku, old.price, old.stock, count(Product)) == ("KUE-01", 125_000, 2, 1)


# --- row errors ------------------------------------------------------------------------------

def with_row(**cells):
    row = dict(zip(HEADER, ["SBL-01", "Sambal Bawang", "makanan", "25.000", "10", "150", "aktif",
                            "", "", ""]))
    row.update(cells)
    return [row[h] for h in HEADER]


@pytest.mark.parametrize("cells, column, message", [
    ({"sku": ""}, "sku", "SKU wajib diisi"),
    ({"sku": "KRP-001"}, "sku", "SKU KRP-001 sudah dipakai di baris 2 berkas ini"),
    ({"kategori": "elektronik"}, "kategori", "Kategori “elektronik” tidak dikenal"),
    ({"kategori": ""}, "kategori", "Kategori wajib diisi untuk produk baru"),
    ({"harga": "abc"}, "harga", "Harga tidak terbaca: tulis dalam rupiah, misalnya 15.000"),
    ({"harga": "-5000"}, "harga", "Harga tidak boleh negatif"),
    ({"harga": "15.000,50"}, "harga", "Harga harus rupiah bulat, tanpa sen"),
    ({"harga": ""}, "harga", "Harga wajib diisi"),
    ({"stok": "1,5"}, "stok", "Stok harus bilangan bulat 0 sampai 1.000.000"),
    ({"stok": "1000001"}, "stok", "Stok harus bilangan bulat 0 sampai 1.000.000"),
    ({"stok": "-2"}, "stok", "Stok harus bilangan bulat 0 sampai 1.000.000"),
    ({"nama": "S" * 141}, "nama", "Nama terlalu panjang: 141 karakter, paling banyak 140"),
    ({"nama": ""}, "nama", "Nama produk wajib diisi"),
    ({"status": "dijual"}, "status", "Status “dijual” tidak dikenal: tulis draf, aktif, atau arsip"),
    ({"berat_gram": "0"}, "berat_gram", "Berat harus bilangan bulat 1 sampai 100.000 gram"),
    ({"opsi": "Level"}, "varian", "Opsi “Level” diisi tetapi varian kosong"),
    ({"varian": "Level 3"}, "opsi", "Isi opsi untuk produk bervarian baru"),
])
def test_one_bad_row_writes_nothing_and_says_why(client, seller, cells, column, message):
    job_id = uploaded_job(client, csv_bytes([GOOD[0], GOOD[1], with_row(**cells)]))
    page = client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
    assert "1 salah" in page and "perlu diperbaiki" in page
    bad = row_html(page, 3)
    assert f"<strong>{column}</strong>: {message}" in bad.replace("&#34;", '"')
    assert 'class="invalid"' in bad or column in ("kategori", "status", "berat_gram")
    assert "Salah" in bad and 'id="baris-2"' not in page  # rows with errors come first
    every_row = client.get(f"/penjual/produk/impor/{job_id}?tampil=semua").get_data(as_text=True)
    assert "Salah" not in row_html(every_row, 2) and "Baru" in row_html(every_row, 2)
    assert "/jalankan" not in page  # no confirm button: all or nothing
    assert confirm(client, job_id).status_code == 303
    assert count(Product) == 0 and count(StockAdjustment) == 0
    assert db.session.get(ImportJob, job_id).status == "pending"


def test_variant_rows_of_one_product_must_agree(client, seller):
    rows = GOOD + [["KAOS-S2", "Kaos Batik Tangerang", "makanan", "85.000", "1", "", "", "", "Ukuran", "s"]]
    page = client.get(f"/penjual/produk/impor/{uploaded_job(client, csv_bytes(rows))}") \
        .get_data(as_text=True)
    bad = row_html(page, 5)
    assert "Berbeda dengan baris 3" in bad and "Varian “s” sudah ada di baris 3" in bad


def test_an_unquoted_separator_in_a_name_is_caught(client, seller):
    data = b"sku,nama,kategori,harga\r\nA-1,Keripik, pedas,makanan,15000\r\n"
    page = client.get(f"/penjual/produk/impor/{uploaded_job(client, data)}").get_data(as_text=True)
    assert "1 sel lebih banyak dari judul kolom" in row_html(page, 2)


def test_markup_in_names_is_shown_as_text(client, seller):
    rows = [HEADER, ["X-1", "<script>alert(1)</script>", "makanan", "1.000", "", "", "", "", "", ""]]
    page = client.get(f"/penjual/produk/impor/{uploaded_job(client, csv_bytes(rows))}") \
        .get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


def test_confirm_checks_the_file_again(client, seller):
    job_id = uploaded_job(client, csv_bytes(GOOD))
    # Meanwhile the seller gives a variant of another product the SKU the file uses.
    other = ProductFactory(shop=seller, name="Kaos Polos", sku=None)
    db.session.add(ProductVariant(product=other, shop_id=seller.id, name="XL", sku="KRP-001",
                                  price=50_000, stock=1))
    db.session.commit()
    response = confirm(client, job_id)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Perbaiki dulu baris yang salah" in page
    assert "SKU KRP-001 sudah dipakai varian produk lain" in row_html(page, 2)
    assert count(Product) == 1 and count(StockAdjustment) == 0


# --- file formats ----------------------------------------------------------------------------

def test_semicolon_file_from_indonesian_excel_in_windows_1252(client, seller):
    rows = [["SKU", "Nama", "Kategori", "Harga", "Stok"],
            ["KUE-1", "Kué Lapis Surabaya", "Makanan", "Rp 125.000,00", "1.200"]]
    job_id = uploaded_job(client, csv_bytes(rows, delimiter=";", encoding="cp1252"))
    preview = client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
    assert "Kolom dipisah dengan titik koma" in preview and "Windows-1252" in preview
    confirm(client, job_id)
    kue = product("KUE-1")
    assert (kue.name, kue.price, kue.stock, kue.status) == ("Kué Lapis Surabaya", 125_000, 1200, "draft")


def test_utf8_file_with_bom_and_english_headers(client, seller):
    rows = [["SKU", "Name", "Category", "Price", "Stock", "Status", "Option", "Variant"],
            ["KP-250", "Kopi Robusta Cisadane", "makanan", "45,000", "12", "active", "Berat", "250 g"],
            ["KP-500", "Kopi Robusta Cisadane", "makanan", "80,000", "6", "active", "Berat", "500 g"]]
    import_file(client, csv_bytes(rows, bom=True))
    kopi = product("KP-250")
    assert kopi.name == "Kopi Robusta Cisadane" and kopi.option_name == "Berat"
    assert [(v.name, v.price) for v in kopi.variants] == [("250 g", 45_000), ("500 g", 80_000)]


def test_xlsx_file_first_sheet_only(client, seller):
    rows = [HEADER,
            ["KRP-001", "Keripik Singkong Balado", "keripik-camilan", 15000, 25, 220, "aktif", "", "", ""],
            [1002, "Kerupuk Kulit", "Makanan", "12.500", 7.0, None, "draf", None, None, None]]
    job_id = uploaded_job(client, xlsx_bytes(rows, extra_sheet=True), "katalog.xlsx")
    preview = client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
    assert "Hanya lembar pertama (Produk) yang dibaca" in preview and "Catatan" in preview
    assert "2 baru" in preview and "0 salah" in preview
    confirm(client, job_id)
    assert (product("KRP-001").price, product("KRP-001").stock) == (15_000, 25)
    assert (product("1002").name, product("1002").price, product("1002").stock) == \
        ("Kerupuk Kulit", 12_500, 7)


def test_fractional_price_in_xlsx_is_refused(client, seller):
    rows = [HEADER, ["A-1", "Keripik", "makanan", 15000.5, 1, None, None, None, None, None]]
    page = client.get(f"/penjual/produk/impor/{uploaded_job(client, xlsx_bytes(rows), 'a.xlsx')}")
    assert "Harga harus rupiah bulat" in row_html(page.get_data(as_text=True), 2)


def many_rows(n: int) -> bytes:
    lines = ["sku,nama,kategori,harga,stok"] + [f"S-{i},Produk {i},makanan,1000,1" for i in range(n)]
    return "\n".join(lines).encode()


@pytest.mark.parametrize("data, filename, message", [
    (b"", "kosong.csv", "Berkas kosong"),
    (b"sku,nama,harga\r\n", "judul.csv", "Tidak ada baris produk di bawah judul kolom"),
    (b"nama,harga\r\nKeripik,1000\r\n", "tanpa-sku.csv", "Kolom wajib tidak ada: sku"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "foto.png", "bukan CSV atau XLSX"),
    (b"%PDF-1.7\x00\x00binary", "nota.csv", "bukan CSV teks"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "lama.xls", "Format .xls lama tidak didukung"),
    (b"PK\x03\x04 not really a zip", "rusak.xlsx", "Berkas XLSX ini tidak bisa dibaca"),
    (b"sku,nama,harga\r\n" + b"A,B,1\r\n" * 10 + b"x" * (5 * 1024 * 1024), "besar.csv",
     "Berkas terlalu besar (5,0 MB). Batasnya 5 MB"),
    (many_rows(20_001), "banyak.csv", "lebih dari 20.000 baris produk"),
    (b'sku,nama,harga\r\nA,"tidak ditutup,1\r\n', "kutip.csv", None),
])
def test_files_that_cannot_be_read_are_refused_next_to_the_field(client, seller, data, filename,
                                                                message):
    response = upload(client, data, filename)
    page = response.get_data(as_text=True)
    if message is None:  # an unclosed quote swallows the rest: a row error or a refusal, never a 500
        assert response.status_code in (303, 422)
        return
    assert response.status_code == 422
    assert re.search(r'id="file-error">[^<]*' + re.escape(message), page), page[-3000:]
    assert count(ImportJob) == 0


def test_no_file_chosen(client, seller):
    token = csrf_token(client, "/penjual/produk/impor")
    response = client.post("/penjual/produk/impor", data={"csrf_token": token},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "Pilih berkas CSV atau XLSX" in response.get_data(as_text=True)


def test_a_body_over_the_request_limit_gets_the_413_page(client, seller):
    response = upload(client, b"x" * (13 * 1024 * 1024), "besar.csv")
    assert response.status_code == 413 and "Berkas terlalu besar" in response.get_data(as_text=True)


def test_the_uploaded_file_can_be_downloaded_back(client, seller):
    data = csv_bytes(GOOD, delimiter=";")
    job_id = uploaded_job(client, data, "punya saya.csv")
    response = client.get(f"/penjual/produk/impor/{job_id}/berkas")
    assert response.get_data() == data and "attachment" in response.headers["Content-Disposition"]


# --- export --------------------------------------------------------------------------------

def test_export_then_reimport_is_a_no_op(client, seller, categories):
    ProductFactory(shop=seller, sku="KRP-001", name="Keripik Balado", price=15_000, stock=25,
                   category=categories["keripik-camilan"], description="Baris satu\r\nbaris, dua \"kutip\"")
    ProductFactory(shop=seller, sku="-007", name="=HYPERLINK(\"http://x\")", price=1_000, stock=0,
                   category=categories["makanan"], status="archived", description="")
    kaos = ProductFactory(shop=seller, sku=None, name="Kaos Batik", price=85_000, stock=18,
                          category=categories["kaos"], status="draft", option_name="Ukuran",
                          weight_grams=200)
    db.session.add_all([
        ProductVariant(product=kaos, shop_id=seller.id, name="S", sku="KAOS-S", price=85_000, stock=10, position=0),
        ProductVariant(product=kaos, shop_id=seller.id, name="M", sku="KAOS-M", price=90_000, stock=8, position=1)])
    ProductFactory(name="Produk toko lain", sku="LAIN-1")  # another shop's
    db.session.commit()
    sync_search()
    before = {p.id: (p.updated_at, p.name, p.price, p.stock, p.status, p.description)
              for p in db.session.scalars(select(Product))}

    response = client.get("/penjual/produk/ekspor")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "dapur-bu-sri" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADER and len(rows) == 5
    assert "Produk toko lain" not in data.decode("utf-8-sig")
    by_sku = {r[0]: r for r in rows[1:]}
    assert by_sku["'-007"][1] == "'=HYPERLINK(\"http://x\")"  # a spreadsheet will not run it
    assert by_sku["KRP-001"][:7] == ["KRP-001", "Keripik Balado", "keripik-camilan", "15000", "25", "", "aktif"]
    assert by_sku["KAOS-M"][8:] == ["Ukuran", "M"] and by_sku["KAOS-M"][5:7] == ["200", "draft"]

    job_id = uploaded_job(client, data, "katalog-dapur-bu-sri.csv")
    preview = client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
    assert "0 baru" in preview and "0 diperbarui" in preview and "4 tetap" in preview
    assert "0 salah" in preview
    assert "tidak mengubah apa pun" in preview
    confirm(client, job_id)
    db.session.expire_all()
    after = {p.id: (p.updated_at, p.name, p.price, p.stock, p.status, p.description)
             for p in db.session.scalars(select(Product))}
    assert after == before
    assert count(StockAdjustment) == 0 and pending_count() == 0
    assert db.session.get(ImportJob, job_id).status == "done"


def test_export_with_semicolons_reimports(client, seller):
    import_file(client, csv_bytes(GOOD))
    data = client.get("/penjual/produk/ekspor?pemisah=titikkoma").get_data()
    assert data.decode("utf-8-sig").splitlines()[0] == ";".join(HEADER)
    page = client.get(f"/penjual/produk/impor/{uploaded_job(client, data)}").get_data(as_text=True)
    assert "3 tetap" in page


# --- who may do what ---------------------------------------------------------------------

def test_another_seller_cannot_see_or_run_someone_elses_job(client, auth, seller):
    job_id = uploaded_job(client, csv_bytes(GOOD))
    auth.logout()
    other = UserFactory(email="ijah@contoh.id", roles=["shopper", "seller"])
    ShopFactory(owner=other, name="Dapur Mak Ijah", slug="dapur-mak-ijah")
    auth.login("ijah@contoh.id")
    token = csrf_token(client, "/penjual/produk/impor")
    assert client.get(f"/penjual/produk/impor/{job_id}").status_code == 404
    assert htmx_get(client, f"/penjual/produk/impor/{job_id}/progres", "progres-impor").status_code == 404
    assert client.get(f"/penjual/produk/impor/{job_id}/berkas").status_code == 404
    response = client.post(f"/penjual/produk/impor/{job_id}/jalankan", data={"csrf_token": token})
    assert response.status_code == 404
    assert count(Product) == 0 and db.session.get(ImportJob, job_id).status == "pending"
    assert "Keripik" not in client.get("/penjual/produk/ekspor").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/penjual/produk/impor", "/penjual/produk/impor/templat.csv",
                                 "/penjual/produk/ekspor", "/penjual/produk/impor/1",
                                 "/penjual/produk/impor/1/progres"])
def test_anonymous_visitors_are_sent_to_log_in(client, app, url):
    response = client.get(url)
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_upload_and_confirm_need_the_csrf_token(client, seller):
    response = client.post("/penjual/produk/impor", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(csv_bytes(GOOD)), "katalog.csv")})
    assert response.status_code == 403
    job_id = uploaded_job(client, csv_bytes(GOOD))
    assert client.post(f"/penjual/produk/impor/{job_id}/jalankan").status_code == 403
    assert count(Product) == 0


# --- the import running on the task queue with htmx polling -------------------------------------

def test_queued_import_reports_progress_until_done(client, seller, app, monkeypatch,
                                                   task_consumer):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 50)
    release, reached = threading.Event(), threading.Event()
    original = imports._apply_batch
    calls = []

    def slow_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # one batch written, the next one waits for the test
            reached.set()
            assert release.wait(20)
        return original(*args, **kwargs)

    monkeypatch.setattr(imports, "_apply_batch", slow_batch)
    job_id = uploaded_job(client, many_rows(120))
    assert confirm(client, job_id).status_code == 303
    try:
        assert reached.wait(20)
        running = htmx_get(client, f"/penjual/produk/impor/{job_id}/progres", "progres-impor")
        body = running.get_data(as_text=True)
        assert running.status_code == 200 and "<html" not in body
        assert 'hx-trigger="every 1s"' in body and 'hx-swap="outerHTML"' in body
        assert '<progress max="120" value="50">' in body and "Mengimpor 50 dari 120 baris" in body
        page = client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
        assert 'id="progres-impor"' in page and "Muat ulang halaman" in page  # without JavaScript
    finally:
        release.set()
    assert imports.wait(job_id, 30)
    deadline = time.monotonic() + 10
    while True:
        body = htmx_get(client, f"/penjual/produk/impor/{job_id}/progres", "progres-impor") \
            .get_data(as_text=True)
        if "hx-trigger" not in body or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "hx-trigger" not in body and "Impor selesai" in body and "120 baris baru" in body
    assert count(Product) == 120
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.done, job.total, job.finished_at is not None) == ("done", 120, 120, True)


def test_a_failing_import_writes_nothing(client, seller, app, monkeypatch, task_consumer):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 50)
    original = imports._apply_batch
    calls = []

    def failing_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(imports, "_apply_batch", failing_batch)
    job_id = uploaded_job(client, many_rows(120))
    confirm(client, job_id)
    assert imports.wait(job_id, 30)
    body = htmx_get(client, f"/penjual/produk/impor/{job_id}/progres", "progres-impor").get_data(as_text=True)
    assert "Impor gagal" in body and "Tidak ada yang tersimpan" in body and "hx-trigger" not in body
    assert count(Product) == 0 and count(StockAdjustment) == 0 and pending_count() == 0
    # The file is still there: the seller can try again from the preview.
    monkeypatch.setattr(imports, "_apply_batch", original)
    assert "/jalankan" in client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
    confirm(client, job_id)
    assert imports.wait(job_id, 30)
    assert count(Product) == 120


# --- the CLI -----------------------------------------------------------------------------

def test_cli_dry_run_then_import_with_a_progress_bar(runner, seller, tmp_path):
    path = tmp_path / "katalog.csv"
    path.write_bytes(csv_bytes(GOOD))
    dry = runner.invoke(catalogue_import, ["dapur-bu-sri", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Uji coba" in dry.output and "3 baru" in dry.output and count(Product) == 0
    done = runner.invoke(catalogue_import, ["dapur-bu-sri", str(path)])
    assert done.exit_code == 0, done.output
    assert "Mengimpor produk" in done.output and "3 baru" in done.output
    assert count(Product) == 2 and product("KAOS-M").stock == 18
    again = runner.invoke(catalogue_import, ["dapur-bu-sri", str(path)])
    assert "3 tetap" in again.output and count(Product) == 2


def test_cli_prints_row_errors_and_exits_non_zero(runner, seller, tmp_path):
    path = tmp_path / "salah.csv"
    path.write_bytes(csv_bytes([GOOD[0], GOOD[1], with_row(harga="abc")]))
    result = runner.invoke(catalogue_import, ["dapur-bu-sri", str(path)])
    assert result.exit_code == 1
    assert "Baris 3, kolom harga: Harga tidak terbaca" in result.output
    assert "Tidak ada yang diimpor" in result.output and count(Product) == 0
    missing = runner.invoke(catalogue_import, ["toko-tidak-ada", str(path)])
    assert missing.exit_code == 1 and "tidak ada" in missing.output


def test_a_long_preview_is_paged_and_filtered(client, seller):
    job_id = uploaded_job(client, many_rows(250))
    page = client.get(f"/penjual/produk/impor/{job_id}?tampil=baru&hal=3").get_data(as_text=True)
    assert 'id="baris-202"' in page and 'id="baris-251"' in page and 'id="baris-201"' not in page
    assert "Baris 201–250 dari 250" in page
    for query in ("?hal=abc", "?hal=0", "?tampil=apa", "?hal=99999999999"):
        assert client.get(f"/penjual/produk/impor/{job_id}{query}").status_code == 200


def test_a_job_cut_off_by_a_restart_is_reported_failed(client, seller):
    job_id = uploaded_job(client, csv_bytes(GOOD))
    job = db.session.get(ImportJob, job_id)
    job.status, job.started_at = "running", utcnow() - timedelta(hours=1)
    job.heartbeat_at = job.started_at
    db.session.commit()
    body = htmx_get(client, f"/penjual/produk/impor/{job_id}/progres", "progres-impor").get_data(as_text=True)
    assert "Impor terhenti" in body and "hx-trigger" not in body
    assert "/jalankan" in client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)


def test_a_count_over_a_sale_made_after_the_preview_is_not_applied(client, seller):
    """Issue 12: the import follows the edit form's rule. A sale between the preview and
    the confirmation moves the stock: the preview says so, and the import keeps the stock
    (the row's other columns still apply) and lists the row when it is done."""
    import_file(client, csv_bytes(GOOD))  # Keripik 25, Kaos S 10, Kaos M 8
    changed = [row[:] for row in GOOD]
    changed[1][3], changed[1][4] = "16.000", "40"  # Keripik: new price, count 40
    changed[2][4] = "12"  # Kaos S: count 12
    job_id = uploaded_job(client, csv_bytes(changed))
    keripik, kaos_s = product("KRP-001"), product("KAOS-S")
    variant_s = next(v for v in kaos_s.variants if v.name == "S")
    # Two packs of keripik sell while the seller reads the preview.
    inventory.change(keripik.id, -2, "sale", note="GR-TEST")
    db.session.commit()
    preview = client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
    assert "Stok berubah sejak berkas ini diunggah" in preview
    assert "stok 25 menjadi 23" in preview and "Kaos" not in preview.split('id="stok-berubah"')[1] \
        .split("</div>")[0]
    assert confirm(client, job_id).status_code == 303
    done = client.get(f"/penjual/produk/impor/{job_id}").get_data(as_text=True)
    assert "stok berubah dari 25 menjadi 23 sejak pratinjau" in done
    keripik = product("KRP-001")
    assert (keripik.price, keripik.stock) == (16_000, 23)  # the price applied, the sale stands
    db.session.refresh(variant_s)
    assert variant_s.stock == 12  # unmoved rows count as the file says
