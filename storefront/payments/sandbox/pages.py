"""The hosted payment page: plain HTML forms, its own small stylesheet, no scripts."""

from __future__ import annotations

CSS = """\
body{font:16px/1.5 system-ui,sans-serif;background:#f4f1ea;color:#222;margin:0}
main{max-width:28rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
.badge{display:inline-block;font-size:.8rem;background:#ffe8a3;padding:.1rem .5rem;
border-radius:4px}
.amount{font-size:2rem;font-weight:700;margin:.5rem 0}
.items{padding-left:1.2rem}
.notice{background:#eef5ff;padding:.5rem .75rem;border-radius:4px}
.choices form{display:inline-block;margin:.25rem .5rem .25rem 0}
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #888;cursor:pointer}
button.pay{background:#1b7f3b;color:#fff;border-color:#1b7f3b}
button.decline{background:#b3261e;color:#fff;border-color:#b3261e}
"""

PAGE = """\
<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ title }} · Gateway Sandbox</title>
<link rel="stylesheet" href="{{ css_url }}">
</head>
<body>
<main>
<p class="badge">Gateway uji (sandbox): bukan pembayaran sungguhan</p>
<h1>{{ title }}</h1>
{% if session %}
<ul class="items">
{% for item in items %}
<li>{{ item.description }}{% if item.quantity > 1 %} × {{ item.quantity }}{% endif %}</li>
{% endfor %}
</ul>
<p class="amount">{{ amount }}</p>
{% endif %}
{% if message %}<p class="notice">{{ message }}</p>{% endif %}
{% if state == "open" %}
<div class="choices">
{% for choice, label, css in choices %}
<form method="post" action="{{ action }}">
<input type="hidden" name="token" value="{{ token }}">
<input type="hidden" name="choice" value="{{ choice }}">
<button type="submit" class="{{ css }}">{{ label }}</button>
</form>
{% endfor %}
</div>
{% endif %}
{% if link %}<p><a href="{{ link }}">{{ link_text }}</a></p>{% endif %}
</main>
</body>
</html>
"""

CHOICES = (("pay", "Bayar", "pay"), ("decline", "Tolak", "decline"),
           ("pending", "Biarkan tertunda", "later"))

TITLES = {
    "open": "Selesaikan pembayaran",
    "paid": "Pembayaran berhasil",
    "declined": "Pembayaran ditolak",
    "expired": "Sesi pembayaran kedaluwarsa",
    "missing": "Sesi pembayaran tidak ditemukan",
    "bad_form": "Formulir tidak sah",
}

MESSAGES = {
    "pending": "Pembayaran dibiarkan tertunda. Anda bisa membayar nanti dari halaman ini.",
    "paid": "Sesi ini sudah dibayar dan tidak dapat dibayar lagi.",
    "declined": "Kartu ditolak (simulasi). Sesi ini sudah selesai tanpa pembayaran.",
    "expired": "Waktu pembayaran habis. Sesi ini tidak dapat dibayar lagi.",
    "missing": "Tautan pembayaran ini tidak dikenal oleh gateway sandbox.",
    "bad_form": "Muat ulang halaman pembayaran lalu coba lagi.",
}

ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                "vnd", "vuv", "xaf", "xof", "xpf"}


def format_amount(minor: int, currency: str) -> str:
    """Minor units as a person reads them: 1500000 idr -> "Rp15.000"."""
    currency = currency.lower()
    if currency in ZERO_DECIMAL:
        whole, cents = minor, 0
    else:
        whole, cents = divmod(minor, 100)
    grouped = f"{whole:,}".replace(",", ".")
    if currency == "idr":
        return f"Rp{grouped}" + (f",{cents:02d}" if cents else "")
    if currency in ZERO_DECIMAL:
        return f"{grouped} {currency.upper()}"
    return f"{grouped},{cents:02d} {currency.upper()}"
