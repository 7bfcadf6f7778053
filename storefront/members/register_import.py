"""The member register from the cooperative's own Excel or CSV book: preview, then apply.

The file is read by the catalogue import's readers (the same encodings, delimiters and
XLSX limits); each row is checked as the register form checks it and shown with its
problems next to it. Nothing is written by the preview: the rows that passed travel in
the preview's form, sealed, and "Terapkan" registers exactly those (a number taken
meanwhile is reported, not overwritten).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _

from ..params import calendar_day
from ..seller.imports import _XLSX_MAGIC, MAX_BYTES, FileRejected, _csv_records, _xlsx_records
from .privacy import seal, unseal, valid_nik

MAX_MEMBERS = 5_000
HEADERS = {
    "nomor": "number", "no": "number", "no_anggota": "number", "nomor_anggota": "number",
    "nama": "name", "nama_lengkap": "name", "nama_anggota": "name",
    "hp": "phone", "no_hp": "phone", "telepon": "phone", "telp": "phone", "whatsapp": "phone",
    "nomor_hp": "phone", "email": "email", "kelurahan": "kelurahan", "alamat": "address",
    "tanggal_masuk": "joined_on", "tgl_masuk": "joined_on", "bergabung": "joined_on",
    "tanggal_bergabung": "joined_on", "nik": "nik",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DMY = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")


@dataclass
class Row:
    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


def _day(text: str) -> date | None:
    text = text.strip()[:10]
    found = calendar_day(text)
    if found is None and (match := _DMY.fullmatch(text)):
        found = calendar_day(f"{match[3]}-{int(match[2]):02d}-{int(match[1]):02d}")
    return found


def read(data: bytes, filename: str) -> list[Row]:
    """The file's rows, each checked; raises FileRejected for a file that cannot be read."""
    if not data:
        raise FileRejected(_("Berkas kosong."))
    if len(data) > MAX_BYTES:
        raise FileRejected(_("Berkas terlalu besar. Batasnya 5 MB."))
    records, _notices = _xlsx_records(data) if data.startswith(_XLSX_MAGIC) \
        else _csv_records(data)
    columns: dict[str, int] | None = None
    rows: list[Row] = []
    for line, cells in records:
        if columns is None:
            columns = {HEADERS[_key(c)]: i for i, c in enumerate(cells) if _key(c) in HEADERS}
            if "name" not in columns:
                raise FileRejected(_("Baris pertama harus berisi judul kolom, paling tidak "
                                     "\"nama\" (juga: nomor, hp, email, kelurahan, alamat, "
                                     "tanggal_masuk, nik)."))
            continue
        if not any(str(c).strip() for c in cells):
            continue
        if len(rows) >= MAX_MEMBERS:
            raise FileRejected(_("Lebih dari %(n)d anggota dalam satu berkas; bagi berkasnya.",
                                 n=MAX_MEMBERS))
        values = {name: str(cells[i]).strip() if i < len(cells) else ""
                  for name, i in columns.items()}
        rows.append(check(Row(line, values)))
    if columns is None:
        raise FileRejected(_("Berkas kosong."))
    seen: dict[str, int] = {}
    for row in rows:
        number = row.values.get("number", "")
        if number and number in seen:
            row.errors.append(_("Nomor anggota sama dengan baris %(line)d.", line=seen[number]))
        elif number:
            seen[number] = row.line
    return rows


def check(row: Row) -> Row:
    v = row.values
    for name, limit in (("name", 120), ("number", 30), ("kelurahan", 40), ("address", 200),
                        ("email", 254)):
        v[name] = re.sub(r"[\x00-\x1f\x7f]", "", v.get(name, ""))
        if len(v[name]) > limit:
            row.errors.append(_("%(column)s terlalu panjang.", column=name))
    if not v["name"]:
        row.errors.append(_("Nama wajib diisi."))
    phone = re.sub(r"[\s-]", "", v.get("phone", ""))
    if phone and not (phone.lstrip("+").isascii() and phone.lstrip("+").isdigit()
                      and 8 <= len(phone.lstrip("+")) <= 15):
        row.errors.append(_("Nomor HP tidak valid."))
    v["phone"] = phone
    if v["email"] and not _EMAIL.fullmatch(v["email"]):
        row.errors.append(_("Email tidak valid."))
    joined = v.get("joined_on", "")
    if joined:
        day = _day(joined)
        if day is None:
            row.errors.append(_("Tanggal masuk tidak valid (tulis 2024-01-31 atau 31/01/2024)."))
        else:
            v["joined_on"] = day.isoformat()
    if v.get("nik") and not valid_nik(v["nik"]):
        row.errors.append(_("NIK terdiri dari 16 angka."))
    return row


def sign(coop_id: int, rows: list[Row]) -> str:
    """The rows that passed, sealed (they may hold NIKs): the preview's hidden field."""
    return seal(json.dumps({"coop": coop_id, "rows": [r.values for r in rows if not r.errors]}))


def unsign(coop_id: int, token: str) -> list[dict] | None:
    opened = unseal(token or "")
    try:
        data = json.loads(opened) if opened else None
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("coop") != coop_id:
        return None
    return [r for r in data.get("rows") or [] if isinstance(r, dict)]
