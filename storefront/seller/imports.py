"""Bulk catalogue import and export for one seller's shop: plain functions, no requests.

The path of a file, the same from the web page and from the CLI:

1. ``read_table(data, filename)`` reads CSV (UTF-8 with or without BOM, else
   Windows-1252 / Latin-1; comma, semicolon or tab, sniffed from the header) or
   the first sheet of an XLSX into rows keyed by the canonical column names.
   A file it cannot take raises ``FileRejected`` with the reason in Indonesian.
2. ``build_plan(table, shop_id)`` checks every row (row numbers as a spreadsheet
   shows them: the header is row 1) and matches it against the shop's catalogue
   by SKU: each row becomes "new", "update" or "same", or carries its errors.
   Nothing is written.
3. ``apply_plan(plan, shop_id, ...)`` writes a valid plan through the ORM (so the
   search outbox rows are written by the usual flush hook), flushing every
   ``CHUNK_ROWS`` rows and reporting progress; the caller commits once, so a
   file is imported all or nothing.

Rules a seller sees on the import page:

- ``sku``, ``nama`` and ``harga`` are needed on every row; SKU is what makes a
  re-import update the product instead of adding it twice.
- A row with ``varian`` is one variant; variant rows with the same ``nama``
  make one product whose option name is ``opsi``.
- An empty optional cell keeps what the product has (a new product gets the
  default: stock 0, status draft). Products not in the file are left alone, and
  so are a product's variants that the file does not list.
- A product without a SKU in Gerai is updated (and given the file's SKU) when
  exactly one product of the shop has the same name and no SKU at all, so the
  export -> fill in SKUs -> import path does not duplicate.

Progress of a running web import is kept in memory (``_progress``, guarded by a
lock) as the primary source: on SQLite the import's write transaction holds the
database lock, so no other connection could record progress until it commits.
On other databases ``done`` and ``heartbeat_at`` are also written to the job row
every chunk in a separate short transaction, so a poll served by another worker
process sees progress too. The job row holds the final state either way.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app, has_request_context
from flask_babel import gettext as _babel_gettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import lazyload, selectinload

from ..catalogue.models import Category, Product, ProductVariant
from ..extensions import db
from ..inventory import services as inventory
from ..money import MAX_PRICE, parse_rupiah
from ..slugs import slugify
from ..timeutil import utcnow
from .forms import MAX_STOCK
from .import_models import ImportJob

log = logging.getLogger(__name__)

# --- limits and columns -----------------------------------------------------------------

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_RECORDS = 100_000  # rows read at all, blank ones included (a sheet formatted to the end)
MAX_UNZIPPED = 80 * 1024 * 1024  # an XLSX is a zip: refuse one that unpacks to more than this
CHUNK_ROWS = 200  # rows per flush and per progress report
# The product editor adds two blank variant rows to a FieldList capped at 30 entries,
# so a product with more than 28 variants could not be edited there.
MAX_VARIANTS = 28
NAME_MAX, SKU_MAX, OPTION_MAX, VARIANT_MAX, DESCRIPTION_MAX = 140, 64, 40, 60, 5000
WEIGHT_MIN, WEIGHT_MAX = 1, 100_000
STALE_AFTER = timedelta(minutes=15)  # a "running" job with no sign of life is reported failed
STALE_AFTER_WITH_HEARTBEAT = timedelta(minutes=2)  # ... where it writes a heartbeat (PostgreSQL)

COLUMNS = ("sku", "nama", "kategori", "harga", "stok", "berat_gram", "status", "deskripsi",
           "opsi", "varian")
REQUIRED_COLUMNS = ("sku", "nama", "harga")
ALIASES = {
    "sku": ("sku", "kode_sku", "kode_produk"),
    "nama": ("nama", "name", "nama_produk", "product_name", "produk", "product"),
    "kategori": ("kategori", "category", "category_slug"),
    "harga": ("harga", "price", "harga_rp"),
    "stok": ("stok", "stock", "qty", "jumlah_stok"),
    "berat_gram": ("berat_gram", "berat", "berat_g", "weight_grams", "weight_gram", "weight",
                   "weight_g"),
    "status": ("status",),
    "deskripsi": ("deskripsi", "description", "keterangan"),
    "opsi": ("opsi", "option", "option_name", "nama_opsi", "pilihan"),
    "varian": ("varian", "variant", "variant_name", "variasi"),
}
_HEADER_LOOKUP = {alias: column for column, names in ALIASES.items() for alias in names}

STATUS_WORDS = {
    "draft": "draft", "draf": "draft",
    "aktif": "active", "active": "active",
    "arsip": "archived", "archived": "archived", "diarsipkan": "archived",
}
EXPORT_STATUS = {"draft": "draft", "active": "aktif", "archived": "arsip"}
# Cells starting with these are formulas to a spreadsheet: the export quotes them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

def _(message: str, **variables) -> str:
    """gettext in a request (the visitor's language); the Indonesian text elsewhere (CLI, threads).

    The app's locale selector reads the request's cookie, so outside a request
    flask_babel cannot be asked.
    """
    if has_request_context():
        return _babel_gettext(message, **variables)
    return message % variables if variables else message


_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class FileRejected(Exception):
    """The file as a whole cannot be read; ``message`` says why, in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ImportFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- reading a file -------------------------------------------------------------------

@dataclass
class RawRow:
    number: int  # as the spreadsheet shows it; the header is row 1
    values: dict[str, str]  # canonical column -> text as it was in the file
    extra: int = 0  # non-empty cells beyond the header's columns


@dataclass
class Table:
    rows: list[RawRow]
    columns: list[str]  # canonical columns the header has
    kind: str  # "csv" or "xlsx"
    notices: list[str] = field(default_factory=list)


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",") + " MB"


def read_table(data: bytes, filename: str = "") -> Table:
    """Read an uploaded CSV or XLSX; raises FileRejected with the reason."""
    if not data:
        raise FileRejected(_("Berkas kosong."))
    if len(data) > MAX_BYTES:
        raise FileRejected(_("Berkas terlalu besar (%(size)s). Batasnya 5 MB; bagi menjadi "
                             "beberapa berkas.", size=_size_text(len(data))))
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if data.startswith(_XLS_MAGIC) or extension == "xls":
        raise FileRejected(_("Format .xls lama tidak didukung. Simpan sebagai CSV atau XLSX "
                             "(Excel: File > Save As > CSV UTF-8 atau Excel Workbook)."))
    if data.startswith(_XLSX_MAGIC):
        if extension not in ("xlsx", "xlsm", ""):
            raise FileRejected(_("Berkas ini bukan CSV atau XLSX. Pilih berkas .csv atau .xlsx."))
        records, notices = _xlsx_records(data)
        kind = "xlsx"
    elif extension in ("xlsx", "xlsm"):
        raise FileRejected(_("Berkas .xlsx ini rusak atau bukan XLSX. Simpan ulang dari Excel, "
                             "atau simpan sebagai CSV."))
    elif extension in ("csv", "txt", "tsv", ""):
        records, notices = _csv_records(data)
        kind = "csv"
    else:
        raise FileRejected(_("Berkas ini bukan CSV atau XLSX. Pilih berkas .csv atau .xlsx."))
    return _tabulate(records, notices, kind)


def _decode(data: bytes) -> tuple[str, str | None]:
    """Text of the file and, when it was not UTF-8, a notice naming the encoding used."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8").lstrip("\ufeff"), None
        except UnicodeDecodeError:
            raise FileRejected(_("Berkas ditandai UTF-8 tetapi isinya rusak. Simpan ulang "
                                 "sebagai CSV UTF-8.")) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").lstrip("\ufeff"), None
        except UnicodeDecodeError:
            raise FileRejected(_("Berkas UTF-16 ini rusak. Simpan ulang sebagai CSV UTF-8.")) from None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    for encoding, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, _("Berkas bukan UTF-8, jadi dibaca sebagai %(encoding)s. Periksa huruf "
                       "seperti é atau ñ di pratinjau; bila keliru, simpan sebagai CSV UTF-8.",
                       encoding=label)
    raise FileRejected(_("Isi berkas tidak bisa dibaca sebagai teks."))  # pragma: no cover


def _sniff_delimiter(text: str) -> str:
    """Comma, semicolon (Excel in Indonesian) or tab: whichever the header line has most."""
    for line in text.splitlines():
        if line.strip():
            counts = {d: line.count(d) for d in (",", ";", "\t")}
            best = max(counts, key=lambda d: counts[d])
            return best if counts[best] else ","
    return ","


DELIMITER_NAMES = {",": "koma", ";": "titik koma", "\t": "tab"}


def _csv_records(data: bytes) -> tuple[Iterator[tuple[int, list[str]]], list[str]]:
    text, encoding_notice = _decode(data)
    if "\x00" in text:
        raise FileRejected(_("Berkas ini bukan CSV teks (berisi data biner). Simpan sebagai CSV "
                             "UTF-8 atau XLSX."))
    notices = [encoding_notice] if encoding_notice else []
    delimiter = _sniff_delimiter(text)
    if delimiter != ",":
        notices.append(_("Kolom dipisah dengan %(name)s.", name=DELIMITER_NAMES[delimiter]))

    def records():
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                raise FileRejected(_(
                    "Baris %(n)d tidak bisa dibaca sebagai CSV: mungkin ada tanda kutip yang tidak "
                    "ditutup atau sel yang terlalu panjang.", n=number + 1)) from None
            number += 1
            yield number, cells

    return records(), notices


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).replace(".", ",")  # 15000.5 -> "15000,5": sen, refused as a price
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _xlsx_records(data: bytes) -> tuple[Iterator[tuple[int, list[str]]], list[str]]:
    unreadable = _("Berkas XLSX ini tidak bisa dibaca. Simpan ulang dari Excel, atau simpan "
                   "sebagai CSV.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileRejected(unreadable) from None
    if "xl/workbook.xml" not in names:
        raise FileRejected(_("Berkas ini bukan XLSX (mungkin ODS atau ZIP). Simpan sebagai XLSX "
                             "atau CSV."))
    if unpacked > MAX_UNZIPPED:
        raise FileRejected(_("Isi berkas XLSX terlalu besar setelah dibuka. Simpan sebagai CSV "
                             "atau bagi menjadi beberapa berkas."))
    try:
        import openpyxl
    except ImportError:  # pragma: no cover (a deployment without the dependency)
        raise FileRejected(_("Server ini belum bisa membaca XLSX; simpan sebagai CSV.")) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # any parser failure on an untrusted file is "unreadable", not a 500
        raise FileRejected(unreadable) from None
    sheets = workbook.worksheets
    if not sheets:
        workbook.close()
        raise FileRejected(_("Berkas XLSX ini tidak punya lembar kerja."))
    notices = []
    if len(sheets) > 1:
        notices.append(_("Hanya lembar pertama (%(first)s) yang dibaca; lembar lain diabaikan: "
                         "%(others)s.", first=sheets[0].title,
                         others=", ".join(s.title for s in sheets[1:])))

    def records():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for number, values in enumerate(sheets[0].iter_rows(values_only=True), start=1):
                    yield number, [_cell_text(v) for v in values]
        except FileRejected:
            raise
        except Exception:
            raise FileRejected(unreadable) from None
        finally:
            workbook.close()

    return records(), notices


def _header_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


def _map_header(cells: list[str], notices: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    unknown = []
    for index, cell in enumerate(cells):
        if not cell.strip():
            continue
        column = _HEADER_LOOKUP.get(_header_key(cell))
        if column is None:
            unknown.append(cell.strip())
        elif column in columns:
            raise FileRejected(_("Kolom %(column)s muncul lebih dari sekali di judul (%(first)s dan "
                                 "%(second)s).", column=column,
                                 first=cells[columns[column]].strip(), second=cell.strip()))
        else:
            columns[column] = index
    if not columns:
        raise FileRejected(_("Baris pertama harus berisi judul kolom: %(columns)s. Unduh templat "
                             "untuk contohnya.", columns=", ".join(COLUMNS)))
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise FileRejected(_("Kolom wajib tidak ada: %(missing)s. Judul kolom yang terbaca: "
                             "%(found)s.", missing=", ".join(missing),
                             found=", ".join(c.strip() for c in cells if c.strip())))
    if unknown:
        notices.append(_("Kolom yang tidak dikenal diabaikan: %(names)s.",
                         names=", ".join(unknown)))
    return columns


def _tabulate(records: Iterable[tuple[int, list[str]]], notices: list[str], kind: str) -> Table:
    columns: dict[str, int] | None = None
    width = 0
    rows: list[RawRow] = []
    for number, cells in records:
        if number > MAX_RECORDS:
            raise FileRejected(_("Berkas punya terlalu banyak baris (termasuk baris kosong). "
                                 "Batasnya %(limit)s baris produk.", limit=f"{MAX_ROWS:,}".replace(",", ".")))
        if not any(c.strip() for c in cells):
            continue
        if columns is None:
            columns = _map_header(cells, notices)
            width = len(cells)
            continue
        if len(rows) >= MAX_ROWS:
            raise FileRejected(_("Berkas punya lebih dari %(limit)s baris produk. Bagi menjadi "
                                 "beberapa berkas.", limit=f"{MAX_ROWS:,}".replace(",", ".")))
        values = {column: (cells[i] if i < len(cells) else "") for column, i in columns.items()}
        extra = sum(1 for c in cells[width:] if c.strip())
        rows.append(RawRow(number, values, extra))
    if columns is None:
        raise FileRejected(_("Berkas kosong: tidak ada judul kolom maupun baris produk."))
    if not rows:
        raise FileRejected(_("Tidak ada baris produk di bawah judul kolom."))
    return Table(rows=rows, columns=list(columns), kind=kind, notices=notices)


# --- one row -------------------------------------------------------------------------

@dataclass
class RowResult:
    number: int
    raw: dict[str, str]
    errors: list[tuple[str | None, str]] = field(default_factory=list)
    action: str | None = None  # "new", "update", "same"
    sku: str = ""
    name: str = ""
    category_id: int | None = None
    price: int | None = None
    stock: int | None = None
    weight: int | None = None
    status: str | None = None
    description: str | None = None
    option: str | None = None
    variant: str | None = None
    variant_id: int | None = None  # the existing variant this row updates
    # The stock of the product or variant this row counts, as planning found it; and,
    # when it moved since the file was previewed, what the preview saw.
    stock_now: int | None = None
    stock_previewed: int | None = None

    @property
    def stock_key(self) -> str | None:
        return None if self.stock_now is None else self._stock_key

    _stock_key: str = ""

    def error(self, column: str | None, message: str) -> None:
        self.errors.append((column, message))

    @property
    def ok(self) -> bool:
        return not self.errors

    def invalid(self, column: str) -> bool:
        return any(c == column for c, _m in self.errors)

    @property
    def state(self) -> str:
        return "error" if self.errors else (self.action or "new")


def _unquote(text: str) -> str:
    """Undo the export's formula guard: "'=x" was written for "=x"."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def _line(text: str) -> str:
    """A one-line value: trimmed, line breaks and tabs become spaces."""
    return re.sub(r"[\r\n\t]+", " ", _unquote(text.strip())).strip()


_SEN = re.compile(r",(\d{1,2})$")
_EN_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")
_ID_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")


def parse_price(text: str) -> int:
    """Rupiah as people type it; ValueError carries the Indonesian reason."""
    unreadable = _("Harga tidak terbaca: tulis dalam rupiah, misalnya 15.000.")
    cleaned = text.strip()
    if cleaned.endswith(",-"):  # "Rp 15.000,-"
        cleaned = cleaned[:-2].rstrip()
    bare = re.sub(r"^rp\.?\s*", "", cleaned, flags=re.IGNORECASE)
    if re.match(r"^-\s*\d", bare):
        raise ValueError(_("Harga tidak boleh negatif."))
    if len(bare) > 40:
        raise ValueError(unreadable)
    if _EN_THOUSANDS.match(bare):  # "15,000" from an English spreadsheet
        bare = cleaned = bare.replace(",", "")
    whole, _comma, sen = bare.partition(",")
    if sen and re.fullmatch(r"\d{1,2}", sen) and int(sen) != 0 and re.fullmatch(r"[\d.\s]+", whole):
        raise ValueError(_("Harga harus rupiah bulat, tanpa sen (misalnya 15.000, bukan %(text)s).",
                           text=text.strip()))
    digits = whole.replace(" ", "")
    if ((digits.isascii() and digits.isdigit()) or _ID_THOUSANDS.match(digits)) and int(digits.replace(".", "")) > MAX_PRICE:
        raise ValueError(_("Harga terlalu besar: paling banyak Rp1.000.000.000."))
    try:
        return parse_rupiah(cleaned)
    except ValueError:
        raise ValueError(unreadable) from None


def parse_whole(text: str, low: int, high: int) -> int:
    """A whole number in [low, high]: "1.000" reads as a thousand, "12,00" as twelve."""
    cleaned = text.strip().replace(" ", "")
    if _ID_THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(".", "")
    cleaned = re.sub(r",0+$", "", cleaned)
    if len(cleaned) > 12 or not re.fullmatch(r"-?\d+", cleaned):
        raise ValueError(cleaned)
    value = int(cleaned)
    if not low <= value <= high:
        raise ValueError(cleaned)
    return value


class _Categories:
    """Category by slug or by name, case-insensitive; a name two categories share is ambiguous."""

    AMBIGUOUS = -1

    def __init__(self):
        self.by_slug: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        for cid, slug, name in db.session.execute(select(Category.id, Category.slug, Category.name)):
            self.by_slug[slug.casefold()] = cid
            key = name.strip().casefold()
            self.by_name[key] = self.AMBIGUOUS if key in self.by_name else cid

    def find(self, text: str) -> int | None:
        key = text.strip().casefold()
        if key in self.by_slug:
            return self.by_slug[key]
        return self.by_name.get(key)


def _parse_row(raw: RawRow, categories: _Categories) -> RowResult:
    row = RowResult(number=raw.number, raw=raw.values)
    get = raw.values.get

    row.sku = _line(get("sku", ""))
    if not row.sku:
        row.error("sku", _("SKU wajib diisi: dengan SKU, impor ulang memperbarui produk, "
                           "bukan menggandakannya."))
    elif len(row.sku) > SKU_MAX:
        row.error("sku", _("SKU terlalu panjang: paling banyak %(max)d karakter.", max=SKU_MAX))

    row.name = _line(get("nama", ""))
    if not row.name:
        row.error("nama", _("Nama produk wajib diisi."))
    elif len(row.name) > NAME_MAX:
        row.error("nama", _("Nama terlalu panjang: %(n)d karakter, paling banyak %(max)d.",
                            n=len(row.name), max=NAME_MAX))

    category = _line(get("kategori", ""))
    if category:
        found = categories.find(category)
        if found == _Categories.AMBIGUOUS:
            row.error("kategori", _("Ada lebih dari satu kategori bernama “%(name)s”: tulis "
                                    "slug-nya (lihat daftar kategori di halaman impor).",
                                    name=category))
        elif found is None:
            row.error("kategori", _("Kategori “%(name)s” tidak dikenal. Tulis slug atau nama dari "
                                    "daftar kategori di halaman impor.", name=category[:80]))
        else:
            row.category_id = found

    price = _unquote(get("harga", "").strip())
    if not price:
        row.error("harga", _("Harga wajib diisi."))
    else:
        try:
            row.price = parse_price(price)
        except ValueError as reason:
            row.error("harga", str(reason))

    stock = _unquote(get("stok", "").strip())
    if stock:
        try:
            row.stock = parse_whole(stock, 0, MAX_STOCK)
        except ValueError:
            row.error("stok", _("Stok harus bilangan bulat 0 sampai 1.000.000."))

    weight = _unquote(get("berat_gram", "").strip())
    if weight:
        try:
            row.weight = parse_whole(weight, WEIGHT_MIN, WEIGHT_MAX)
        except ValueError:
            row.error("berat_gram", _("Berat harus bilangan bulat 1 sampai 100.000 gram."))

    status = _line(get("status", ""))
    if status:
        row.status = STATUS_WORDS.get(status.casefold())
        if row.status is None:
            row.error("status", _("Status “%(status)s” tidak dikenal: tulis draf, aktif, atau arsip.",
                                  status=status[:40]))

    description = _unquote(get("deskripsi", ""))
    if description.strip():
        if len(description) > DESCRIPTION_MAX:
            row.error("deskripsi", _("Deskripsi terlalu panjang: %(n)d karakter, paling banyak "
                                     "%(max)d.", n=len(description), max=DESCRIPTION_MAX))
        row.description = description

    row.option = _line(get("opsi", "")) or None
    if row.option and len(row.option) > OPTION_MAX:
        row.error("opsi", _("Nama opsi terlalu panjang: paling banyak %(max)d karakter.",
                            max=OPTION_MAX))
    row.variant = _line(get("varian", "")) or None
    if row.variant and len(row.variant) > VARIANT_MAX:
        row.error("varian", _("Nama varian terlalu panjang: paling banyak %(max)d karakter.",
                              max=VARIANT_MAX))
    if row.option and not row.variant:
        row.error("varian", _("Opsi “%(option)s” diisi tetapi varian kosong: isi varian "
                              "(misalnya S) atau kosongkan opsi.", option=row.option))
    if raw.extra:
        row.error(None, _("Baris ini punya %(n)d sel lebih banyak dari judul kolom. Mungkin ada "
                          "koma atau titik koma di dalam teks tanpa tanda kutip.", n=raw.extra))
    return row


# --- the whole file ---------------------------------------------------------------------

@dataclass
class Item:
    """One product the file describes: a simple row, or the variant rows sharing a name."""

    rows: list[RowResult]
    has_variants: bool
    product_id: int | None = None
    adopted: bool = False  # an existing product without SKU, matched by name
    changes_product: bool = False

    @property
    def first(self) -> RowResult:
        return self.rows[0]

    def value(self, attribute: str):
        """The product-level value the rows give (the first non-empty one)."""
        for row in self.rows:
            value = getattr(row, attribute)
            if value is not None:
                return value
        return None


@dataclass
class Plan:
    rows: list[RowResult]
    items: list[Item]
    notices: list[str]
    kind: str = "csv"

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"new": 0, "update": 0, "same": 0, "error": 0}
        for row in self.rows:
            counts[row.state] += 1
        return counts

    @property
    def error_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.errors]

    def stock_snapshot(self) -> dict[str, int]:
        """The stock of every existing row the file counts, as this plan found it."""
        return {row.stock_key: row.stock_now for row in self.rows if row.stock_key}

    def moved_since(self, snapshot: dict[str, int]) -> list[RowResult]:
        """Rows whose stock moved since ``snapshot`` (a sale, the seller on another page):
        their counts would undo that change, so they are marked and not applied."""
        moved = []
        for row in self.rows:
            key = row.stock_key
            if key and key in snapshot and snapshot[key] != row.stock_now:
                row.stock_previewed = snapshot[key]
                moved.append(row)
        return moved


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def build_plan(table: Table, shop_id: int) -> Plan:
    """Check every row and match it to the shop's catalogue; writes nothing."""
    categories = _Categories()
    rows = [_parse_row(raw, categories) for raw in table.rows]
    _check_duplicate_skus(rows)
    items = _group(rows)
    _match(items, shop_id)
    _compare(items)
    return Plan(rows=rows, items=items, notices=list(table.notices), kind=table.kind)


def _check_duplicate_skus(rows: list[RowResult]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        if not row.sku:
            continue
        first = seen.setdefault(row.sku, row.number)
        if first != row.number:
            row.error("sku", _("SKU %(sku)s sudah dipakai di baris %(n)d berkas ini; tiap baris "
                               "perlu SKU sendiri.", sku=row.sku, n=first))


PRODUCT_LEVEL = (("kategori", "category_id"), ("status", "status"), ("deskripsi", "description"),
                 ("berat_gram", "weight"), ("opsi", "option"))


def _group(rows: list[RowResult]) -> list[Item]:
    items: list[Item] = []
    groups: dict[str, Item] = {}
    for row in rows:
        if not row.variant:
            items.append(Item(rows=[row], has_variants=False))
            continue
        key = _name_key(row.name) if row.name else f"\0{row.number}"
        item = groups.get(key)
        if item is None:
            item = groups[key] = Item(rows=[], has_variants=True)
            items.append(item)
        item.rows.append(row)
    for item in groups.values():
        _check_group(item)
    return items


def _check_group(item: Item) -> None:
    first_value: dict[str, tuple[object, int]] = {}
    variant_names: dict[str, int] = {}
    for position, row in enumerate(item.rows):
        for column, attribute in PRODUCT_LEVEL:
            value = getattr(row, attribute)
            if value is None:
                continue
            seen = first_value.setdefault(attribute, (value, row.number))
            if seen[0] != value:
                row.error(column, _("Berbeda dengan baris %(n)d untuk produk “%(name)s” yang sama: "
                                    "isi %(column)s sama di semua baris variannya, atau kosongkan.",
                                    n=seen[1], name=item.first.name, column=column))
        key = _name_key(row.variant or "")
        first = variant_names.setdefault(key, row.number)
        if first != row.number:
            row.error("varian", _("Varian “%(variant)s” sudah ada di baris %(n)d untuk produk yang "
                                  "sama.", variant=row.variant, n=first))
        if position >= MAX_VARIANTS:
            row.error("varian", _("Paling banyak %(max)d varian per produk.", max=MAX_VARIANTS))


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _match(items: list[Item], shop_id: int) -> None:
    """Find the existing product of each item: by SKU, else (no SKU in Gerai) by name."""
    product_skus = dict(db.session.execute(
        select(Product.sku, Product.id).where(Product.shop_id == shop_id, Product.sku.is_not(None))).all())
    variant_skus = {sku: (pid, vid) for sku, pid, vid in db.session.execute(
        select(ProductVariant.sku, ProductVariant.product_id, ProductVariant.id)
        .where(ProductVariant.shop_id == shop_id, ProductVariant.sku.is_not(None)))}
    with_variants = set(db.session.scalars(
        select(ProductVariant.product_id).where(ProductVariant.shop_id == shop_id).distinct()))
    with_variant_skus = {pid for pid, _vid in variant_skus.values()}
    without_sku: dict[str, list[int]] = {}
    for pid, name in db.session.execute(
            select(Product.id, Product.name).where(Product.shop_id == shop_id, Product.sku.is_(None))):
        without_sku.setdefault(_name_key(name), []).append(pid)

    claimed: dict[int, int] = {}  # product id -> row number that matched it first

    def claim(item: Item, pid: int) -> bool:
        first = claimed.setdefault(pid, item.first.number)
        if first != item.first.number:
            for row in item.rows:
                row.error("nama", _("Baris ini dan baris %(n)d menunjuk produk yang sama di Gerai "
                                    "(lewat SKU) dengan nama berbeda. Varian satu produk harus "
                                    "bernama sama.", n=first))
            return False
        item.product_id = pid
        return True

    def adopt(item: Item, candidates: list[int]) -> None:
        free = [pid for pid in candidates if pid not in claimed]
        if len(candidates) == 1 and len(free) == 1:
            claim(item, free[0])
            item.adopted = True

    for item in items:
        if not item.has_variants:
            row = item.first
            if not row.sku or row.invalid("sku"):
                continue
            if row.sku in variant_skus:
                row.error("sku", _("SKU %(sku)s sudah dipakai varian produk lain di toko Anda. "
                                   "Pakai SKU lain, atau tulis baris ini sebagai varian (isi opsi "
                                   "dan varian).", sku=row.sku))
            elif row.sku in product_skus:
                pid = product_skus[row.sku]
                if pid in with_variants:
                    row.error("sku", _("Produk dengan SKU %(sku)s punya varian di Gerai: tulis tiap "
                                       "varian di barisnya sendiri (isi opsi dan varian).",
                                       sku=row.sku))
                else:
                    claim(item, pid)
            elif row.name:
                adopt(item, [pid for pid in without_sku.get(_name_key(row.name), [])
                             if pid not in with_variants])
            continue
        pids = set()
        for row in item.rows:
            if not row.sku or row.invalid("sku"):
                continue
            if row.sku in product_skus:
                row.error("sku", _("SKU %(sku)s sudah dipakai sebagai SKU produk di toko Anda; "
                                   "tiap varian perlu SKU sendiri.", sku=row.sku))
            elif row.sku in variant_skus:
                pid, row.variant_id = variant_skus[row.sku]
                pids.add(pid)
        if len(pids) > 1:
            for row in item.rows:
                if row.variant_id:
                    row.error("sku", _("SKU varian dengan nama produk ini milik %(n)d produk "
                                       "berbeda di Gerai. Periksa SKU atau nama produknya.",
                                       n=len(pids)))
        elif pids:
            claim(item, pids.pop())
        elif item.first.name:
            adopt(item, [pid for pid in without_sku.get(_name_key(item.first.name), [])
                         if pid in with_variants and pid not in with_variant_skus])


@dataclass
class _Current:
    name: str
    category_id: int
    price: int
    stock: int
    status: str
    description: str
    weight: int | None
    option: str | None
    sku: str | None
    variants: list[tuple[int, str, str | None, int, int]] = field(default_factory=list)
    # (id, name, sku, price, stock)


def _load_current(ids: list[int]) -> dict[int, _Current]:
    current: dict[int, _Current] = {}
    for chunk in _chunks(ids):
        for row in db.session.execute(
                select(Product.id, Product.name, Product.category_id, Product.price, Product.stock,
                       Product.status, Product.description, Product.weight_grams,
                       Product.option_name, Product.sku).where(Product.id.in_(chunk))):
            current[row[0]] = _Current(*row[1:])
        for vid, pid, name, sku, price, stock in db.session.execute(
                select(ProductVariant.id, ProductVariant.product_id, ProductVariant.name,
                       ProductVariant.sku, ProductVariant.price, ProductVariant.stock)
                .where(ProductVariant.product_id.in_(chunk))
                .order_by(ProductVariant.position, ProductVariant.id)):
            current[pid].variants.append((vid, name, sku, price, stock))
    return current


def _text_differs(now: str | None, new: str | None) -> bool:
    return (now or "").strip() != (new or "").strip()


def _product_differs(item: Item, now: _Current) -> bool:
    if _text_differs(now.name, item.first.name):
        return True
    if item.adopted and not item.has_variants:
        return True  # the product gets its SKU
    for attribute, current in (("category_id", now.category_id), ("status", now.status),
                               ("weight", now.weight)):
        value = item.value(attribute)
        if value is not None and value != current:
            return True
    description = item.value("description")
    if description is not None and description != now.description:
        return True
    option = item.value("option")
    if item.has_variants and option is not None and _text_differs(now.option, option):
        return True
    if not item.has_variants:
        row = item.first
        if row.price != now.price or (row.stock is not None and row.stock != now.stock):
            return True
    return False


def _compare(items: list[Item]) -> None:
    """Mark each row new / update / same, and check what needs the current catalogue."""
    current = _load_current(sorted({i.product_id for i in items if i.product_id}))
    for item in items:
        first = item.first
        if item.product_id is None:
            if first.category_id is None and item.value("category_id") is None \
                    and not any(r.invalid("kategori") for r in item.rows):
                first.error("kategori", _("Kategori wajib diisi untuk produk baru."))
            if item.has_variants and item.value("option") is None:
                first.error("opsi", _("Isi opsi untuk produk bervarian baru, misalnya Ukuran."))
            for row in item.rows:
                row.action = "new"
            continue
        now = current[item.product_id]
        item.changes_product = _product_differs(item, now)
        if not item.has_variants:
            first.action = "update" if item.changes_product else "same"
            if first.stock is not None:
                first.stock_now, first._stock_key = now.stock, f"p{item.product_id}"
            continue
        _compare_variants(item, now)


def _compare_variants(item: Item, now: _Current) -> None:
    by_id = {v[0]: v for v in now.variants}
    unclaimed_skuless = {_name_key(v[1]): v for v in now.variants if not v[2]}
    touched: set[int] = set()
    final_names: dict[str, tuple[int, str | None]] = {}  # name key -> (row number or 0, sku)
    for row in item.rows:
        existing = by_id.get(row.variant_id) if row.variant_id else None
        if existing is None:
            adopted = unclaimed_skuless.pop(_name_key(row.variant or ""), None)
            if adopted is not None:
                row.variant_id, existing = adopted[0], adopted
        if existing is None:
            row.action = "new"
            continue
        touched.add(existing[0])
        _vid, name, sku, price, stock = existing
        if row.stock is not None:
            row.stock_now, row._stock_key = stock, f"v{existing[0]}"
        differs = (_text_differs(name, row.variant) or sku != row.sku or price != row.price
                   or (row.stock is not None and row.stock != stock))
        row.action = "update" if differs or item.changes_product else "same"
    for vid, name, sku, _price, _stock in now.variants:
        if vid not in touched:
            final_names[_name_key(name)] = (0, sku)
    for row in item.rows:
        key = _name_key(row.variant or "")
        clash = final_names.get(key)
        if clash and clash[0] == 0:
            row.error("varian", _("Produk ini di Gerai sudah punya varian “%(variant)s” dengan SKU "
                                  "lain (%(sku)s). Pakai SKU itu atau nama varian lain.",
                                  variant=row.variant, sku=clash[1] or "-"))
        final_names.setdefault(key, (row.number, row.sku))
    if len(final_names) > MAX_VARIANTS:
        item.first.error("varian", _("Produk ini akan punya %(n)d varian; paling banyak %(max)d.",
                                     n=len(final_names), max=MAX_VARIANTS))
    if item.changes_product:
        for row in item.rows:
            if row.action == "same":
                row.action = "update"


def plan_file(data: bytes, filename: str, shop_id: int) -> Plan:
    return build_plan(read_table(data, filename), shop_id)


# --- applying a plan --------------------------------------------------------------------

@dataclass
class Outcome:
    created: int = 0  # rows
    updated: int = 0
    unchanged: int = 0
    products_created: int = 0
    products_updated: int = 0
    stock_kept: list[str] = field(default_factory=list)  # rows whose stock moved meanwhile


def _assign(obj, attribute: str, value) -> bool:
    if getattr(obj, attribute) != value:
        setattr(obj, attribute, value)
        return True
    return False


def apply_plan(plan: Plan, shop_id: int, user_id: int | None = None,
               progress: Callable[[int], None] | None = None, note: str = "",
               previewed: dict[str, int] | None = None) -> Outcome:
    """Write a valid plan in the caller's transaction; the caller commits or rolls back.

    ``previewed`` is the stock the seller saw in the preview: a row whose stock moved
    since keeps the current stock (its other columns apply) and is listed in the outcome.
    """
    if not plan.ok:
        raise ImportFailed(_("Berkas masih punya baris yang salah; tidak ada yang diimpor."))
    outcome = Outcome()
    for row in plan.moved_since(previewed or {}):
        outcome.stock_kept.append(_("Baris %(n)d (%(name)s): stok berubah dari %(before)d "
                                    "menjadi %(now)d sejak pratinjau; stoknya tidak diubah.",
                                    n=row.number, name=row.name, before=row.stock_previewed,
                                    now=row.stock_now))
        row.stock = None
    counts = plan.counts
    outcome.created, outcome.updated, outcome.unchanged = counts["new"], counts["update"], counts["same"]
    note = note[:200]
    batch: list[Item] = []
    size = 0
    for item in plan.items:
        batch.append(item)
        size += len(item.rows)
        if size >= CHUNK_ROWS:
            _apply_batch(batch, shop_id, user_id, note, outcome)
            if progress:
                progress(size)
            batch, size = [], 0
    if batch:
        _apply_batch(batch, shop_id, user_id, note, outcome)
        if progress:
            progress(size)
    return outcome


def _apply_counts(counts: list, user_id: int | None, note: str) -> None:
    """The file's stock figures, through inventory once the rows have ids: a new row's
    first count, or an existing row's new count over the stock locked for this import."""
    for product, variant, counted, seen in counts:
        if seen is None:
            inventory.stock_new(product, counted, "import", variant=variant, user_id=user_id,
                                note=note)
        elif counted != seen:
            inventory.recount(product, counted, seen, "import", variant=variant,
                              user_id=user_id, note=note)


def _apply_batch(items: list[Item], shop_id: int, user_id: int | None, note: str,
                 outcome: Outcome) -> None:
    session = db.session
    wanted = [i.product_id for i in items
              if i.product_id and any(r.action != "same" for r in i.rows)]
    products: dict[int, Product] = {}
    if wanted:
        products = {p.id: p for p in session.scalars(
            select(Product).where(Product.id.in_(wanted), Product.shop_id == shop_id)
            .options(lazyload(Product.shop), lazyload(Product.category),
                     selectinload(Product.variants))
            .with_for_update(of=Product))}
    counts: list = []
    for item in items:
        if item.product_id is None:
            _create(item, shop_id, counts)
            outcome.products_created += 1
            continue
        if item.product_id not in wanted:
            continue
        product = products.get(item.product_id)
        if product is None:
            raise ImportFailed(_("Produk untuk baris %(n)d baru saja dihapus. Unggah berkasnya "
                                 "lagi.", n=item.first.number))
        _update(item, product, counts)
        outcome.products_updated += 1
    # Flushed objects are held weakly by the session: once this batch's references go,
    # memory stays flat over the whole file while the transaction stays open.
    session.flush()
    _apply_counts(counts, user_id, note)


def _create(item: Item, shop_id: int, counts: list) -> None:
    first = item.first
    product = Product(shop_id=shop_id, category_id=item.value("category_id"), name=first.name,
                      slug=slugify(first.name), description=item.value("description") or "",
                      status=item.value("status") or "draft", weight_grams=item.value("weight"),
                      stock=0, price=0)
    db.session.add(product)
    if not item.has_variants:
        product.sku = first.sku
        product.price = first.price
        counts.append((product, None, first.stock or 0, None))
        return
    product.option_name = item.value("option")
    for position, row in enumerate(item.rows):
        variant = ProductVariant(shop_id=shop_id, name=row.variant, sku=row.sku, price=row.price,
                                 stock=0, position=position)
        product.variants.append(variant)
        counts.append((product, variant, row.stock or 0, None))
    product.price = min(v.price for v in product.variants)


def _update(item: Item, product: Product, counts: list) -> None:
    first = item.first
    if _text_differs(product.name, first.name):
        product.name = first.name
        product.slug = slugify(first.name)
    for attribute, column in (("category_id", "category_id"), ("status", "status"),
                              ("weight", "weight_grams"), ("description", "description")):
        value = item.value(attribute)
        if value is not None:
            _assign(product, column, value)
    if not item.has_variants:
        _assign(product, "sku", first.sku)
        _assign(product, "price", first.price)
        if first.stock is not None and first.stock != product.stock:
            counts.append((product, None, first.stock, product.stock))
        return
    option = item.value("option")
    if option is not None and _text_differs(product.option_name, option):
        product.option_name = option
    by_id = {v.id: v for v in product.variants}
    position = max((v.position for v in product.variants), default=-1)
    for row in item.rows:
        variant = by_id.get(row.variant_id) if row.variant_id else None
        if variant is None:
            position += 1
            variant = ProductVariant(shop_id=product.shop_id, name=row.variant, sku=row.sku,
                                     price=row.price, stock=0, position=position)
            product.variants.append(variant)
            counts.append((product, variant, row.stock or 0, None))
            continue
        if _text_differs(variant.name, row.variant):
            variant.name = row.variant
        _assign(variant, "sku", row.sku)
        _assign(variant, "price", row.price)
        if row.stock is not None and row.stock != variant.stock:
            counts.append((product, variant, row.stock, variant.stock))
    _assign(product, "price", min(v.price for v in product.variants))


# --- jobs: the web import with progress ------------------------------------------------

_progress: dict[int, tuple[int, int]] = {}  # job id -> (rows done, rows in total)
_running: set[int] = set()  # jobs running in this process
_lock = threading.Lock()
_KEEP_PROGRESS = 1000


def _report(job_id: int, done: int, total: int) -> None:
    with _lock:
        _progress[job_id] = (done, total)
        while len(_progress) > _KEEP_PROGRESS:
            _progress.pop(next(iter(_progress)))


def progress_of(job: ImportJob) -> tuple[int, int]:
    """(done, total) of a job: this process's memory first, else what the row says."""
    with _lock:
        remembered = _progress.get(job.id)
    if job.status == "running" and remembered:
        return remembered
    if job.status == "done":
        return job.total, job.total
    return job.done, job.total


def running_here(job_id: int) -> bool:
    with _lock:
        return job_id in _running


def wait(job_id: int, timeout: float = 30) -> bool:
    """Wait until a job has left "running" (tests, the benchmark); True when it has."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = db.session.scalar(select(ImportJob.status).where(ImportJob.id == job_id))
        db.session.rollback()  # see the other thread's commit next time
        if status != "running":
            return True
        time.sleep(0.05)
    return False


def create_job(shop_id: int, user_id: int | None, filename: str, data: bytes, plan: Plan) -> ImportJob:
    counts = plan.counts
    job = ImportJob(shop_id=shop_id, user_id=user_id, filename=filename[:200], size=len(data),
                    content=data, status="pending", total=len(plan.rows),
                    stock_seen=json.dumps(plan.stock_snapshot(), separators=(",", ":")),
                    created_count=counts["new"], updated_count=counts["update"],
                    unchanged_count=counts["same"], error_count=counts["error"])
    db.session.add(job)
    db.session.commit()
    return job


def forget_old_jobs(shop_id: int, keep: int = 20) -> None:
    """A shop keeps its last ``keep`` uploads; older ones (and their files) go."""
    old = db.session.scalars(select(ImportJob.id).where(
        ImportJob.shop_id == shop_id, ImportJob.status != "running")
        .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).offset(keep)).all()
    if old:
        db.session.execute(ImportJob.__table__.delete().where(ImportJob.id.in_(old)))
        db.session.commit()


def claim(job: ImportJob) -> bool:
    """pending/failed -> running, exactly once even on a double click."""
    now = utcnow()
    claimed = db.session.execute(
        update(ImportJob).where(ImportJob.id == job.id, ImportJob.status.in_(("pending", "failed")))
        .values(status="running", done=0, error=None, started_at=now, heartbeat_at=now,
                finished_at=None)).rowcount
    db.session.commit()
    if claimed:
        _report(job.id, 0, job.total)
    return bool(claimed)


def start(job_id: int) -> None:
    """Hand a claimed job to the task queue (in tests: run it here and now)."""
    from .. import tasks

    if not tasks.enqueue("import_catalogue", job_id):
        _finish(job_id, status="failed", done=0, error=_(
            "Antrean kerja server sedang tidak tersedia. Tidak ada yang tersimpan; coba lagi "
            "sebentar lagi."))


def _finish(job_id: int, **values) -> None:
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id)
                       .values(finished_at=utcnow(), heartbeat_at=utcnow(), **values))
    db.session.commit()


def run_job(job_id: int) -> None:
    """Apply a running job's file in ONE transaction; the job row gets the final state."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != "running":
        return
    with _lock:
        if job_id in _running:
            return
        _running.add(job_id)
    try:
        _run_claimed(job)
    finally:
        with _lock:
            _running.discard(job_id)


def _run_claimed(job: ImportJob) -> None:
    job_id = job.id
    data, filename, shop_id, user_id, total = (job.content or b"", job.filename, job.shop_id,
                                               job.user_id, job.total)
    previewed = previewed_stock(job)
    db.session.commit()  # the main transaction below never touches the job row
    separate_progress = db.engine.dialect.name != "sqlite"
    done = 0
    last_write = 0.0

    def progress(rows: int) -> None:
        nonlocal done, last_write
        done += rows
        _report(job_id, done, total)
        if separate_progress and time.monotonic() - last_write >= 0.5:
            last_write = time.monotonic()
            with db.engine.begin() as connection:  # its own short transaction
                connection.execute(update(ImportJob.__table__).where(ImportJob.id == job_id)
                                   .values(done=done, heartbeat_at=utcnow()))

    try:
        plan = plan_file(data, filename, shop_id)
        if not plan.ok:
            raise ImportFailed(_("Berkas tidak lagi cocok dengan katalog: %(n)d baris bermasalah. "
                                 "Buka pratinjaunya lagi untuk melihat apa yang perlu diperbaiki.",
                                 n=plan.counts["error"]))
        total = len(plan.rows)
        _report(job_id, 0, total)
        outcome = apply_plan(plan, shop_id, user_id, progress,
                             note=_("Impor %(file)s", file=filename), previewed=previewed)
        db.session.commit()
    except (FileRejected, ImportFailed) as failure:
        db.session.rollback()
        _finish(job_id, status="failed", error=failure.message, done=0)
    except (IntegrityError, OperationalError) as error:
        db.session.rollback()
        log.warning("catalogue import %s conflicted: %s", job_id, error)
        _finish(job_id, status="failed", done=0, error=_(
            "Katalog berubah di saat yang sama (misalnya SKU yang sama disimpan dari tempat lain). "
            "Tidak ada yang tersimpan; jalankan impor lagi."))
    except Exception:
        db.session.rollback()
        log.exception("catalogue import %s failed", job_id)
        _finish(job_id, status="failed", done=0, error=_(
            "Impor gagal karena gangguan di server. Tidak ada yang tersimpan; coba lagi."))
    else:
        _finish(job_id, status="done", done=total, total=total, error=None, error_count=0,
                created_count=outcome.created, updated_count=outcome.updated,
                unchanged_count=outcome.unchanged,
                stock_kept="\n".join(outcome.stock_kept[:200]) or None)
        _report(job_id, total, total)


def previewed_stock(job: ImportJob) -> dict[str, int]:
    try:
        seen = json.loads(job.stock_seen or "{}")
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in seen.items() if isinstance(v, int)} \
        if isinstance(seen, dict) else {}


def _stale_after() -> timedelta:
    # PostgreSQL jobs write a heartbeat twice a second while they run; SQLite ones cannot
    # (one writer), so only a long silence there means the process is gone.
    seconds = current_app.config.get("IMPORT_STALE_SECONDS")
    if seconds:
        return timedelta(seconds=seconds)
    return STALE_AFTER if db.engine.dialect.name == "sqlite" else STALE_AFTER_WITH_HEARTBEAT


def _is_stale(job: ImportJob) -> bool:
    last = job.heartbeat_at or job.started_at or job.created_at
    return (job.status == "running" and not running_here(job.id)
            and utcnow() - last > _stale_after())


def _fail_stale(job_id: int) -> bool:
    """running -> failed, with the reason, only if it still shows no sign of life."""
    last_allowed = utcnow() - _stale_after()
    failed = db.session.execute(
        update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "running",
                                db.func.coalesce(ImportJob.heartbeat_at, ImportJob.started_at,
                                                 ImportJob.created_at) < last_allowed)
        .values(status="failed", done=0, finished_at=utcnow(), error=_(
            "Impor terhenti (server dimulai ulang). Tidak ada yang tersimpan; jalankan lagi."))
    ).rowcount
    db.session.commit()
    return bool(failed)


def check_stale(job: ImportJob) -> None:
    """A job still "running" with no worker here and no sign of life was cut off."""
    if _is_stale(job):
        _fail_stale(job.id)
        db.session.refresh(job)


def fail_stale_jobs() -> int:
    """The queue's sweep: every job cut off mid-way is reported failed, never left running."""
    ids = db.session.scalars(select(ImportJob.id).where(ImportJob.status == "running")).all()
    return sum(_fail_stale(job_id) for job_id in ids if not running_here(job_id))


# --- export and template --------------------------------------------------------------

def _safe(value) -> str:
    """A cell a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def _csv_bytes(rows: Iterable[list], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_safe(cell) for cell in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def export_rows(shop_id: int, batch: int = 1000) -> Iterator[list]:
    """The header, then one row per simple product and per variant, in import columns."""
    yield list(COLUMNS)
    last_id = 0
    while True:
        products = db.session.execute(
            select(Product.id, Product.sku, Product.name, Category.slug, Product.price,
                   Product.stock, Product.weight_grams, Product.status, Product.description,
                   Product.option_name)
            .join(Category, Category.id == Product.category_id)
            .where(Product.shop_id == shop_id, Product.id > last_id)
            .order_by(Product.id).limit(batch)).all()
        if not products:
            return
        ids = [p.id for p in products]
        variants: dict[int, list] = {}
        for v in db.session.execute(
                select(ProductVariant.product_id, ProductVariant.sku, ProductVariant.name,
                       ProductVariant.price, ProductVariant.stock)
                .where(ProductVariant.product_id.in_(ids))
                .order_by(ProductVariant.product_id, ProductVariant.position, ProductVariant.id)):
            variants.setdefault(v.product_id, []).append(v)
        for p in products:
            status = EXPORT_STATUS.get(p.status, p.status)
            weight = p.weight_grams if p.weight_grams is not None else ""
            if p.id in variants:
                for v in variants[p.id]:
                    yield [v.sku or "", p.name, p.slug, v.price, v.stock, weight, status,
                           p.description or "", p.option_name or "", v.name]
            else:
                yield [p.sku or "", p.name, p.slug, p.price, p.stock, weight, status,
                       p.description or "", "", ""]
        last_id = ids[-1]


def export_csv(shop_id: int, delimiter: str = ",") -> bytes:
    """The shop's catalogue as CSV, UTF-8 with a BOM so Excel reads it right."""
    return _csv_bytes(export_rows(shop_id), delimiter)


def template_csv() -> bytes:
    """The header and three example rows: one simple product, two variants of another."""
    slugs = list(db.session.scalars(
        select(Category.slug).where(Category.parent_id.is_not(None))
        .order_by(Category.parent_id, Category.position, Category.id).limit(2)))
    if not slugs:
        slugs = list(db.session.scalars(select(Category.slug).order_by(Category.id).limit(2)))
    food = slugs[0] if slugs else "makanan"
    other = slugs[-1] if slugs else "makanan"
    return _csv_bytes([
        list(COLUMNS),
        ["KRP-001", "Keripik Singkong Balado 200 g", food, "15.000", "25", "220", "aktif",
         "Keripik singkong renyah dengan bumbu balado.", "", ""],
        ["KAOS-BTK-S", "Kaos Batik Tangerang", other, "85.000", "10", "200", "draf",
         "Kaos katun bermotif batik khas Tangerang.", "Ukuran", "S"],
        ["KAOS-BTK-M", "Kaos Batik Tangerang", other, "85.000", "8", "200", "draf",
         "Kaos katun bermotif batik khas Tangerang.", "Ukuran", "M"],
    ])


def categories_for_help() -> list[tuple[str, str]]:
    """(slug, path name) of every category, for the import page's list."""
    rows = db.session.execute(select(Category.id, Category.parent_id, Category.slug, Category.name)
                              .order_by(Category.position, Category.id)).all()
    names = {r.id: r.name for r in rows}
    listed = [(r.slug, f"{names[r.parent_id]} › {r.name}" if r.parent_id in names else r.name)
              for r in rows]
    return sorted(listed, key=lambda pair: pair[1].casefold())
