"""A Xendit-compatible QRIS sandbox: the endpoints Gerai's Xendit adapter uses, real
QRIS payloads, callbacks with the callback token, and a "wallet" page that plays the
payer's e-wallet or bank app.

Run it on its own loopback port (tests, benchmarks) or mount it inside Gerai in
development at ``/xendit-sandbox``. One process, state in memory: a test gateway,
never a production one. It answers only its own secret key (HTTP Basic, the key as
user name, as Xendit does), for the API and for the test controls under ``/_sandbox``.
The wallet page needs no key: like a real payer's app, whoever holds the QR can pay it.

    POST /qr_codes                               DYNAMIC codes; api-version 2022-07-31
    GET  /qr_codes/{id}, /qr_codes/{id}/payments
    POST /qr_codes/{id}/payments/simulate        test mode: pay it (as Xendit's test mode)
    POST /qr_codes/payments/{qrpy}/refunds       PENDING, then SUCCEEDED and a callback;
                                                 a GOPAY-paid payment cannot be refunded
    GET  /qr_codes/payments/refunds/{id}
    GET  /transactions?product_id=qrpy_...       the fee kept (MDR: 0% up to Rp500.000
                                                 for micro merchants, 0.3% above)
    GET|POST /wallet                             paste or upload a QR, see it, pay it

Callbacks (``qr.payment``, ``qr.refund``) go to ``callback_url`` with
``x-callback-token``; a delivery that is not answered 2xx is tried again, six times in
all, after ``retry_delays``. Test controls: ``POST /_sandbox/callbacks`` (``enabled``,
``duplicates``, ``hold``), ``POST /_sandbox/callbacks/release`` (``order``: sent or
reversed), ``GET /_sandbox/callbacks``, ``POST /_sandbox/qr_codes/{id}/expire``,
``POST /_sandbox/refunds`` (``mode``: auto or wait), ``POST /_sandbox/refunds/{id}/{succeed|fail}``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask, jsonify, render_template_string, request
from flask_babel import Babel

from ..money import format_rupiah
from . import qris

log = logging.getLogger(__name__)

API_VERSION = "2022-07-31"
APPS = ("OVO", "DANA", "GOPAY", "SHOPEEPAY", "LINKAJA", "BCA", "BRI", "MANDIRI")
MAX_AMOUNT = 10_000_000  # rupiah per QRIS transaction (Bank Indonesia's limit)
MDR_FREE_UP_TO = 500_000


def _now(clock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def mdr(amount: int) -> int:
    """The sandbox's fee: a micro merchant's MDR (Bank Indonesia, since December 2024)."""
    return 0 if amount <= MDR_FREE_UP_TO else round(amount * 3 / 1000)


class Error(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Callbacks:
    """Sends callbacks from threads; the test controls shape them (off, doubled, held)."""

    def __init__(self, url: str | None, token: str, retry_delays: tuple[float, ...]):
        self.url, self.token, self.retry_delays = url, token, retry_delays
        self.enabled, self.duplicates, self.hold = True, 1, False
        self.held: list[dict] = []
        self.log: deque[dict] = deque(maxlen=2000)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def send(self, body: dict) -> None:
        if not self.url or not self.enabled:
            self.log.append({"id": body["data"]["id"], "event": body["event"], "attempt": 0,
                             "status": None, "error": "callbacks off"})
            return
        if self.hold:
            self.held.append(body)
            return
        for _copy in range(self.duplicates):
            self._start(body)

    def release(self, order: str = "sent") -> int:
        held, self.held = self.held, []
        for body in reversed(held) if order == "reversed" else held:
            for _copy in range(self.duplicates):
                self._start(body)
        return len(held)

    def _start(self, body: dict) -> None:
        thread = threading.Thread(target=self._deliver, args=(body,), daemon=True,
                                  name=f"xendit-callback-{body['data']['id']}")
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def drain(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                alive = [t for t in self._threads if t.is_alive()]
            if not alive:
                return True
            alive[0].join(max(0.0, deadline - time.monotonic()))
        return False

    def _deliver(self, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        try:
            for attempt, delay in enumerate((0.0, *self.retry_delays), start=1):
                time.sleep(delay)
                entry = {"id": body["data"]["id"], "event": body["event"], "attempt": attempt,
                         "status": None, "error": None}
                try:
                    call = urllib.request.Request(self.url, data=data, method="POST", headers={
                        "Content-Type": "application/json", "x-callback-token": self.token,
                        "webhook-id": secrets.token_hex(12)})
                    with urllib.request.urlopen(call, timeout=10) as answer:
                        answer.read()
                        entry["status"] = answer.status
                except urllib.error.HTTPError as error:
                    with error:
                        entry["status"] = error.code
                except OSError as error:
                    entry["error"] = f"{type(error).__name__}: {error}"
                self.log.append(entry)
                if entry["status"] is not None and 200 <= entry["status"] < 300:
                    return
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())


class Sandbox:
    """The sandbox's state: ``app.extensions["xendit_sandbox"]``."""

    def __init__(self, *, merchant: tuple[str, str, str], callbacks: Callbacks,
                 clock: Callable[[], float]):
        self.merchant_name, self.merchant_city, self.nmid = merchant
        self.callbacks, self.clock = callbacks, clock
        self.lock = threading.RLock()
        self.codes: dict[str, dict] = {}
        self.by_string: dict[str, str] = {}
        self.payments: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, int, dict]] = {}
        self.refund_mode = "auto"
        # Test control: this many next refunds are made (key saved), then the answer is lost.
        self.lose_refund_answers = 0
        self.business_id = "gerai-sandbox-business"

    def drain(self, timeout: float = 10.0) -> bool:
        return self.callbacks.drain(timeout)

    # -- QR codes ---------------------------------------------------------------------------

    def create(self, body: dict) -> dict:
        reference = body.get("reference_id")
        if not isinstance(reference, str) or not 1 <= len(reference) <= 255:
            raise Error(400, "API_VALIDATION_ERROR", "reference_id is required")
        if body.get("type") != "DYNAMIC":
            raise Error(400, "API_VALIDATION_ERROR", "this sandbox makes DYNAMIC codes only")
        if body.get("currency", "IDR") != "IDR":
            raise Error(400, "API_VALIDATION_ERROR", "currency must be IDR")
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or \
                not 1 <= amount <= MAX_AMOUNT:
            raise Error(400, "API_VALIDATION_ERROR",
                        f"amount must be a whole number from 1 to {MAX_AMOUNT}")
        now = _now(self.clock)
        expires = now + timedelta(hours=48)
        if body.get("expires_at") is not None:
            try:
                expires = datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00"))
            except ValueError:
                raise Error(400, "API_VALIDATION_ERROR", "expires_at is not ISO 8601") from None
            if expires.tzinfo is None or expires <= now:
                raise Error(400, "API_VALIDATION_ERROR", "expires_at must be in the future, "
                                                         "with a time zone")
        code_id = "qr_" + secrets.token_hex(16)
        payload = qris.build(merchant_name=self.merchant_name, merchant_city=self.merchant_city,
                             nmid=self.nmid, amount=amount, reference=reference[:25],
                             postal_code="15111")
        code = {"id": code_id, "reference_id": reference, "business_id": self.business_id,
                "type": "DYNAMIC", "currency": "IDR", "amount": amount, "channel_code": "ID_DANA",
                "status": "ACTIVE", "qr_string": payload, "expires_at": _iso(expires),
                "metadata": body.get("metadata"), "created": _iso(now), "updated": _iso(now)}
        self.codes[code_id] = code
        self.by_string[payload] = code_id
        return code

    def code(self, code_id: str) -> dict:
        code = self.codes.get(code_id)
        if code is None:
            raise Error(404, "DATA_NOT_FOUND", f"QR code {code_id} not found")
        if code["status"] == "ACTIVE" and self._expired(code):
            code["status"] = "INACTIVE"
        return code

    def _expired(self, code: dict) -> bool:
        return datetime.fromisoformat(code["expires_at"].replace("Z", "+00:00")) <= \
            _now(self.clock)

    def code_payments(self, code_id: str) -> dict:
        self.code(code_id)
        return {"data": [p for p in self.payments.values() if p["qr_id"] == code_id],
                "has_more": False}

    def pay(self, code_id: str, amount: int | None, *, source: str = "OVO",
            late: bool = False) -> dict:
        """The payer's app pays the code. ``late``: paid from a screenshot after it expired
        (the issuer let it through), which Gerai must not lose or silently accept."""
        code = self.code(code_id)
        if code["status"] != "ACTIVE" and not late:
            raise Error(400, "INACTIVE_QR_CODE", "the QR code has expired or was paid")
        if amount is not None and amount != code["amount"]:
            raise Error(400, "API_VALIDATION_ERROR", "amount differs from the QR code's")
        if any(p["qr_id"] == code_id for p in self.payments.values()):
            raise Error(400, "INACTIVE_QR_CODE", "a dynamic QR code is paid once")
        now = _now(self.clock)
        payment = {"id": "qrpy_" + secrets.token_hex(16), "business_id": self.business_id,
                   "currency": "IDR", "amount": code["amount"], "channel_code": "ID_DANA",
                   "status": "SUCCEEDED", "qr_id": code_id, "qr_string": code["qr_string"],
                   "reference_id": code["reference_id"], "type": "DYNAMIC",
                   "created": _iso(now), "expires_at": code["expires_at"],
                   "payment_detail": {"receipt_id": secrets.token_hex(6).upper(),
                                      "source": source if source in APPS else "OVO",
                                      "name": "Pembayar Sandbox", "account_details": None},
                   "refunded_amount": 0}
        self.payments[payment["id"]] = payment
        code["status"] = "INACTIVE"
        code["updated"] = _iso(now)
        self.callbacks.send({"event": "qr.payment", "api_version": API_VERSION,
                             "business_id": self.business_id, "created": _iso(now),
                             "data": {k: v for k, v in payment.items() if k != "refunded_amount"}})
        return payment

    # -- refunds and fees -------------------------------------------------------------------

    def refund(self, payment_id: str, body: dict) -> dict:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise Error(404, "DATA_NOT_FOUND", f"QR payment {payment_id} not found")
        if payment["payment_detail"]["source"] == "GOPAY":
            raise Error(400, "REFUND_NOT_SUPPORTED",
                        "payments made with GOPAY cannot be refunded through the API")
        left = payment["amount"] - payment["refunded_amount"]
        amount = body.get("amount", left)
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= left:
            raise Error(400, "API_VALIDATION_ERROR", f"amount must be from 1 to {left}")
        now = _now(self.clock)
        refund = {"id": "qrpyr_" + secrets.token_hex(16), "payment_id": payment_id,
                  "qr_id": payment["qr_id"], "reference_id": payment["reference_id"],
                  "amount": amount, "currency": "IDR", "status": "PENDING",
                  "reason": str(body.get("reason", ""))[:100], "created": _iso(now)}
        payment["refunded_amount"] += amount
        self.refunds[refund["id"]] = refund
        if self.refund_mode == "auto":
            self.end_refund(refund["id"], "SUCCEEDED")
        return dict(refund, status="PENDING")

    def end_refund(self, refund_id: str, status: str) -> dict:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise Error(404, "DATA_NOT_FOUND", f"refund {refund_id} not found")
        if refund["status"] == "PENDING":
            refund["status"] = status
            if status == "FAILED":
                self.payments[refund["payment_id"]]["refunded_amount"] -= refund["amount"]
            self.callbacks.send({"event": "qr.refund", "api_version": API_VERSION,
                                 "business_id": self.business_id,
                                 "created": _iso(_now(self.clock)), "data": dict(refund)})
        return refund

    def transactions(self, product_id: str) -> dict:
        payment = self.payments.get(product_id)
        if payment is None:
            return {"data": [], "has_more": False}
        return {"data": [{"id": "txn_" + product_id[5:], "product_id": product_id,
                          "type": "PAYMENT", "channel_category": "QR_CODE",
                          "reference_id": payment["reference_id"], "currency": "IDR",
                          "amount": payment["amount"], "status": "SUCCESS",
                          "fee": {"xendit_fee": mdr(payment["amount"]), "value_added_tax": 0,
                                  "xendit_withholding_tax": 0, "third_party_withholding_tax": 0,
                                  "status": "COMPLETED"},
                          "created": payment["created"]}], "has_more": False}


WALLET_PAGE = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dompet Sandbox QRIS</title></head>
<body style="font-family:sans-serif;max-width:30rem;margin:1rem auto;padding:0 1rem">
<h1>Dompet Sandbox</h1>
<p>Memerankan aplikasi e-wallet atau m-banking pembayar. Tempel isi QRIS, atau unggah
gambarnya.</p>
{% if message %}<p role="alert" id="pesan"><strong>{{ message }}</strong></p>{% endif %}
{% if code %}
<dl id="rincian">
  <dt>Penjual</dt><dd id="penjual">{{ code.merchant_name }} · {{ code.merchant_city }}</dd>
  <dt>NMID</dt><dd>{{ code.nmid or "-" }}</dd>
  <dt>Nominal</dt><dd id="nominal">{{ rupiah(code.amount) if code.amount
                                       else "ditulis pembayar" }}</dd>
  <dt>Referensi</dt><dd>{{ code.reference or "-" }}</dd>
</dl>
<form method="post" action="{{ base }}/wallet/pay">
  <input type="hidden" name="qr_string" value="{{ code.payload }}">
  <label>Aplikasi <select name="app">{% for app in apps %}<option>{{ app }}</option>
  {% endfor %}</select></label>
  <p><button name="hasil" value="bayar" id="bayar">Bayar</button>
  <button name="hasil" value="gagal">Gagal (saldo kurang)</button>
  <button name="hasil" value="terlambat">Bayar terlambat (dari tangkapan layar)</button></p>
</form>
{% endif %}
<form method="post" action="{{ base }}/wallet" enctype="multipart/form-data">
  <p><label>Isi QRIS<br><textarea name="qr_string" rows="4" cols="40" id="isi"></textarea>
  </label></p>
  <p><label>atau gambar QR <input type="file" name="gambar" accept="image/*"></label></p>
  <p><button id="baca">Baca</button></p>
</form></body></html>"""


def _decode_image(upload) -> str | None:
    """The QR text in an uploaded picture, or None (a picture Gerai's uploads would refuse
    is "no QR found" here too)."""
    from ..media import PictureRejected, load_picture
    from ..qrcodes import read_qr

    try:
        return read_qr(load_picture(upload.stream))
    except PictureRejected:
        return None


def create_xendit_sandbox_app(*, secret_key: str, callback_url: str | None, callback_token: str,
                              merchant: tuple[str, str, str] = ("GERAI PAMERAN TANGERANG",
                                                                "TANGERANG", "ID1026281234567"),
                              retry_delays: tuple[float, ...] = (1, 2, 4, 8, 16),
                              clock: Callable[[], float] = time.time) -> Flask:
    """A Xendit-compatible QRIS gateway for tests and ``make run``; see the module doc."""
    if not secret_key.startswith("xnd_development_"):
        raise ValueError("the sandbox's secret key is a development key: xnd_development_...")
    app = Flask(__name__)
    app.json.sort_keys = False
    Babel(app, default_locale="id")  # the QRIS parser's messages are translatable
    sandbox = Sandbox(merchant=merchant, callbacks=Callbacks(callback_url, callback_token,
                                                             retry_delays), clock=clock)
    app.extensions["xendit_sandbox"] = sandbox

    @app.errorhandler(Error)
    def refused(error: Error):
        return jsonify(error_code=error.code, message=error.message), error.status

    def authorised() -> None:
        header = request.headers.get("Authorization", "")
        given = ""
        if header.startswith("Basic "):
            try:
                given = base64.b64decode(header[6:], validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                given = ""
        if not given or not hmac.compare_digest(given.encode(), secret_key.encode()):
            raise Error(401, "INVALID_API_KEY", "API key is invalid")

    def body() -> dict:
        data = request.get_json(silent=True)
        if request.data and not isinstance(data, dict):
            raise Error(400, "API_VALIDATION_ERROR", "the body must be a JSON object")
        return data or {}

    @app.before_request
    def check():
        if request.path.startswith("/wallet"):
            return
        authorised()
        if request.path.startswith("/qr_codes") and \
                request.headers.get("api-version") != API_VERSION:
            raise Error(400, "API_VALIDATION_ERROR", f"api-version must be {API_VERSION}")

    def idempotent(make: Callable[[dict], dict]):
        key = request.headers.get("idempotency-key")
        data = body()
        with sandbox.lock:
            if key:
                saved = sandbox.idempotency.get((request.path, key))
                if saved is not None:
                    fingerprint, status, answer = saved
                    if fingerprint != json.dumps(data, sort_keys=True):
                        raise Error(409, "IDEMPOTENCY_ERROR",
                                    "idempotency-key already used with another request")
                    return jsonify(answer), status
            answer = make(data)
            if key:
                sandbox.idempotency[(request.path, key)] = (json.dumps(data, sort_keys=True),
                                                            201, answer)
            if request.path.endswith("/refunds") and sandbox.lose_refund_answers > 0:
                sandbox.lose_refund_answers -= 1
                raise Error(500, "SERVER_ERROR", "the refund was made; its answer was lost")
        return jsonify(answer), 201

    @app.post("/qr_codes")
    def create_code():
        return idempotent(sandbox.create)

    @app.get("/qr_codes/<code_id>")
    def get_code(code_id):
        with sandbox.lock:
            return jsonify(sandbox.code(code_id))

    @app.get("/qr_codes/<code_id>/payments")
    def get_code_payments(code_id):
        with sandbox.lock:
            return jsonify(sandbox.code_payments(code_id))

    @app.post("/qr_codes/<code_id>/payments/simulate")
    def simulate(code_id):
        data = body()
        with sandbox.lock:
            return jsonify(sandbox.pay(code_id, data.get("amount"),
                                       source=str(data.get("source", "OVO")))), 200

    @app.post("/qr_codes/payments/<payment_id>/refunds")
    def refund(payment_id):
        return idempotent(lambda data: sandbox.refund(payment_id, data))

    @app.get("/qr_codes/payments/refunds/<refund_id>")
    def get_refund(refund_id):
        with sandbox.lock:
            found = sandbox.refunds.get(refund_id)
            if found is None:
                raise Error(404, "DATA_NOT_FOUND", f"refund {refund_id} not found")
            return jsonify(found)

    @app.get("/transactions")
    def transactions():
        with sandbox.lock:
            return jsonify(sandbox.transactions(request.args.get("product_id", "")))

    # -- test controls (the secret key, as the API) ------------------------------------------

    @app.route("/_sandbox/callbacks", methods=["GET", "POST"])
    def callbacks():
        sender = sandbox.callbacks
        if request.method == "POST":
            data = body()
            sender.enabled = bool(data.get("enabled", sender.enabled))
            sender.hold = bool(data.get("hold", sender.hold))
            duplicates = data.get("duplicates", sender.duplicates)
            sender.duplicates = duplicates if isinstance(duplicates, int) and \
                1 <= duplicates <= 20 else sender.duplicates
        return jsonify(enabled=sender.enabled, hold=sender.hold, duplicates=sender.duplicates,
                       held=len(sender.held), log=list(sender.log))

    @app.post("/_sandbox/callbacks/release")
    def release():
        return jsonify(released=sandbox.callbacks.release(body().get("order", "sent")))

    @app.post("/_sandbox/qr_codes/<code_id>/expire")
    def expire(code_id):
        with sandbox.lock:
            code = sandbox.code(code_id)
            code["expires_at"] = _iso(_now(sandbox.clock) - timedelta(seconds=1))
            code["status"] = "INACTIVE" if code["status"] == "ACTIVE" else code["status"]
            return jsonify(code)

    @app.post("/_sandbox/qr_codes/<code_id>/pay")
    def pay_any(code_id):
        """Pay as a given app, on time or late: what the wallet page does, for tests."""
        data = body()
        with sandbox.lock:
            return jsonify(sandbox.pay(code_id, None, source=str(data.get("source", "OVO")),
                                       late=bool(data.get("late")))), 200

    @app.post("/_sandbox/refunds")
    def refund_mode():
        mode = body().get("mode")
        if mode in ("auto", "wait"):
            sandbox.refund_mode = mode
        return jsonify(mode=sandbox.refund_mode)

    @app.post("/_sandbox/refunds/lose-answer")
    def lose_refund_answer():
        """The next refund is made (its key saved), then its answer is lost (a 500)."""
        with sandbox.lock:
            sandbox.lose_refund_answers += 1
            return jsonify(lose_refund_answers=sandbox.lose_refund_answers)

    @app.post("/_sandbox/refunds/<refund_id>/<outcome>")
    def end_refund(refund_id, outcome):
        if outcome not in ("succeed", "fail"):
            raise Error(404, "DATA_NOT_FOUND", "succeed or fail")
        with sandbox.lock:
            return jsonify(sandbox.end_refund(refund_id,
                                              "SUCCEEDED" if outcome == "succeed" else "FAILED"))

    # -- the payer's app --------------------------------------------------------------------

    def wallet_page(message: str = "", code: qris.Qris | None = None, status: int = 200):
        base = request.script_root
        return render_template_string(WALLET_PAGE, message=message, code=code, apps=APPS,
                                      base=base, rupiah=format_rupiah), status

    @app.route("/wallet", methods=["GET", "POST"])
    def wallet():
        if request.method == "GET":
            return wallet_page()
        text = (request.form.get("qr_string") or "").strip()
        if not text and request.files.get("gambar"):
            text = _decode_image(request.files["gambar"]) or ""
            if not text:
                return wallet_page("Tidak ada kode QR yang terbaca di gambar itu.", status=422)
        try:
            code = qris.parse(text)
        except qris.QrisError as error:
            return wallet_page(str(error.message), status=422)
        return wallet_page(code=code)

    @app.post("/wallet/pay")
    def wallet_pay():
        text = (request.form.get("qr_string") or "").strip()
        outcome = request.form.get("hasil", "bayar")
        with sandbox.lock:
            code_id = sandbox.by_string.get(text)
            if code_id is None:
                return wallet_page("Kode QR ini tidak dikenal sandbox (bukan tagihan dinamis "
                                   "darinya).", status=404)
            if outcome == "gagal":
                return wallet_page("Pembayaran gagal: saldo tidak cukup. Tidak ada uang "
                                   "berpindah.", status=402)
            try:
                payment = sandbox.pay(code_id, None, source=request.form.get("app", "OVO"),
                                      late=outcome == "terlambat")
            except Error as error:
                return wallet_page(f"Ditolak: {error.message}", status=error.status)
        return wallet_page(f"Berhasil dibayar {format_rupiah(payment['amount'])} "
                           f"({payment['id']}).")

    return app
