"""QRIS payloads: Bank Indonesia's national QR (EMVCo Merchant-Presented Mode).

A payload is a string of TLV fields: two digits of tag, two of length, the value.
Gerai builds dynamic ones in the Xendit-compatible sandbox (what Xendit's
``qr_string`` is) and reads static ones, the sticker a shop's bank gave it.
The last field is ``63`` = CRC-16/CCITT-FALSE of everything before it, "6304"
included. Tests check every payload made or accepted here with an independent
parser (qriskit); this module stays dependency-free because the sandbox uses it too.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

QRIS_GUID = "ID.CO.QRIS.WWW"
STATIC, DYNAMIC = "11", "12"


class QrisError(ValueError):
    """A payload that is not a usable QRIS; ``message`` is for the person who gave it."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Qris:
    payload: str
    dynamic: bool
    merchant_name: str
    merchant_city: str
    nmid: str | None  # the national merchant id in the QRIS template (tag 51)
    mcc: str
    amount: int | None  # whole rupiah; None on a static code
    reference: str | None  # tag 62.05 (or the bill number 62.01)
    postal_code: str | None = None


def crc(text: str) -> str:
    return format(binascii.crc_hqx(text.encode("ascii"), 0xFFFF), "04X")


def _field(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"QRIS field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def fields(payload: str) -> list[tuple[str, str]]:
    """The TLV fields in order; QrisError when the lengths do not add up."""
    out, at = [], 0
    while at < len(payload):
        head = payload[at:at + 4]
        if len(head) < 4 or not head.isascii() or not head.isdigit():
            raise QrisError(_l("Isi kode QR rusak: bukan format QRIS."))
        length = int(head[2:])
        value = payload[at + 4:at + 4 + length]
        if len(value) != length:
            raise QrisError(_l("Isi kode QR terpotong: bukan QRIS yang utuh."))
        out.append((head[:2], value))
        at += 4 + length
    return out


def _plain(text: str, limit: int) -> str:
    """Merchant name and city as QRIS wants them: printable ASCII, upper case, cut to size."""
    ascii_only = "".join(c for c in text.upper() if 32 <= ord(c) < 127)
    return " ".join(ascii_only.split())[:limit] or "GERAI"


def build(*, merchant_name: str, merchant_city: str, nmid: str, amount: int | None,
          reference: str | None = None, mcc: str = "5499", postal_code: str | None = None,
          merchant_pan: str = "9360000000000000000", merchant_id: str = "000000000000000"
          ) -> str:
    """A QRIS payload; dynamic (01 = 12) when it carries an amount, static otherwise."""
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)
                               or not 0 < amount < 10**13):
        raise ValueError("a QRIS amount is a positive whole number of rupiah")
    account = (_field("00", QRIS_GUID) + _field("01", merchant_pan) + _field("02", merchant_id)
               + _field("03", "UMI"))
    parts = [_field("00", "01"), _field("01", DYNAMIC if amount is not None else STATIC),
             _field("26", account), _field("51", _field("00", QRIS_GUID) + _field("02", nmid)
                                           + _field("03", "UMI")),
             _field("52", mcc), _field("53", "360")]
    if amount is not None:
        parts.append(_field("54", str(amount)))
    parts += [_field("58", "ID"), _field("59", _plain(merchant_name, 25)),
              _field("60", _plain(merchant_city, 15))]
    if postal_code:
        parts.append(_field("61", postal_code))
    if reference:
        parts.append(_field("62", _field("05", reference[:25])))
    body = "".join(parts) + "6304"
    return body + crc(body)


def parse(payload: str) -> Qris:
    """Read a QRIS payload and check it; QrisError says what is wrong, in words a seller
    understands (the CRC, not QRIS at all, a missing field)."""
    payload = (payload or "").strip()
    # EMVCo's character set is printable ASCII: a NUL or an escape in a name is not a QRIS
    # (and PostgreSQL cannot store a NUL).
    if not payload or len(payload) > 512 or not payload.isascii() or \
            not payload.isprintable():
        raise QrisError(_l("Isi kode QR kosong atau bukan QRIS."))
    if not payload.startswith("000201"):
        raise QrisError(_l("Kode QR ini bukan QRIS (bukan kode pembayaran EMVCo)."))
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise QrisError(_l("Kode QR ini bukan QRIS: tanda pemeriksa (CRC) tidak ada."))
    if crc(payload[:-4]) != payload[-4:].upper():
        raise QrisError(_l("Kode QRIS rusak: tanda pemeriksa (CRC) tidak cocok. "
                           "Foto ulang stiker dengan lebih jelas."))
    tags = dict(fields(payload))
    if QRIS_GUID not in payload:
        raise QrisError(_l("Kode QR ini bukan QRIS (tidak ada penanda ID.CO.QRIS.WWW)."))
    if not all(tags.get(tag) for tag in ("52", "53", "58", "59", "60")):
        raise QrisError(_l("Kode QRIS tidak lengkap: nama, kota atau mata uang penjual tidak ada."))
    if tags["53"] != "360":
        raise QrisError(_l("Kode QRIS ini bukan dalam rupiah."))
    nmid = None
    for tag, value in fields(payload):
        if tag.isdigit() and 26 <= int(tag) <= 51:
            inner = dict(fields(value))
            if inner.get("00") == QRIS_GUID and inner.get("02"):
                nmid = inner["02"]
    amount = None
    if "54" in tags:
        text = tags["54"]
        if not text.replace(".", "", 1).isdigit():
            raise QrisError(_l("Nominal di kode QRIS tidak terbaca."))
        whole, _dot, cents = text.partition(".")
        if cents.strip("0"):
            raise QrisError(_l("Nominal di kode QRIS bukan rupiah bulat."))
        amount = int(whole)
    extra = dict(fields(tags["62"])) if tags.get("62") else {}
    return Qris(payload=payload, dynamic=tags.get("01") == DYNAMIC,
                merchant_name=tags["59"], merchant_city=tags["60"], nmid=nmid,
                mcc=tags["52"], amount=amount,
                reference=extra.get("05") or extra.get("01"), postal_code=tags.get("61"))
