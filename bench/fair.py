"""A fair at its peak on loopback: stand tills (QR and cash), visitors, organizers' dashboards.

    .venv/bin/python bench/fair.py [--gateway xendit|stripe] [--seconds 180] [--stands 130]
        [--visitors 300] [--dashboards 10] [--sale-every 20] [--workers 2] [--threads 4]
        [--database-url postgresql+psycopg://root@127.0.0.1:5432/test] [--keep-logs]

    quick smoke run: .venv/bin/python bench/fair.py --seconds 20 --stands 20 --visitors 30

The issue's benchmark (issue 5, fair mode; issue 15: QRIS; issue 20: the fair load
gate). Setup as bench/checkout.py does it, with its helpers: a PostgreSQL schema of its
own, ``flask db upgrade``, ``flask seed-demo`` (enough shops that ``--stands`` verified
ones have products), the gateway's sandbox and Gerai under gunicorn (gthread;
WORKER_THREAD=0, rate limiter off: every client here comes from 127.0.0.1). The
gateway that serves the stands' QR charges (``--gateway``, printed):

* ``xendit`` (the default; how money arrives in Indonesia): the Xendit-compatible QRIS
  sandbox (storefront.payments.xendit_sandbox) in a gunicorn process of its own (one
  gthread worker: its state is in memory), Gerai with QRIS_GATEWAY=xendit,
  XENDIT_API_URL at it and XENDIT_SANDBOX_MOUNT=0; its ``qr.payment`` callbacks (with
  ``x-callback-token``) go to Gerai's /payments/webhooks/xendit;
* ``stripe``: the Stripe-compatible sandbox (PAYMENT_GATEWAY=sandbox, SANDBOX_MOUNT=0),
  its hosted page and signed webhooks to /payments/webhooks/sandbox.

Then, through the app's own services
(in this process, before the servers take load): a fair with ``--stands`` stands, each
given a distinct verified seeded shop and up to 8 of its products (every other one
with a separate fair stock), products with a large stock, the shops' owners (the stand
keepers) with a known password, and one organizer.

Everyone logs in (GET/POST /masuk) before the clock starts, and one client alone
measures Gerai's CPU for a stand page, a sales list, a stand screen and the dashboard
(fragment cached, and figures computed): times how often the peak asks for them, what
the peak needs before any sale. Then, for ``--seconds``:

* every stand rings up a sale every ``--sale-every`` seconds on average (Poisson
  arrivals; a keeper busy with a sale serves the next visitor right after; those
  still waiting when the time is up are counted, not served), half by QR, half
  cash; 1-3 of its items, or now and then a typed amount:
  - QR, as the stand screen does it: htmx POST .../kasir/jual (metode=qr); the screen
    polls the charge every 0.5 s (its hx-get with the version it shows: a 204 means
    nothing changed). The visitor's phone (a new browser each time) scans
    the code 1-3 s later. With xendit the code is the QRIS payload the answer carries
    (``data-qris``) and the phone's e-wallet app is the sandbox's wallet page: POST
    /wallet with the payload (it shows the merchant and the amount, which must be the
    sale's), 0.5-1.5 s later POST /wallet/pay (an app such as OVO, hasil=bayar); the
    sandbox sends its ``qr.payment`` callback from a thread. With stripe the code is a
    link: GET /bayar/<token>, POST it, the sandbox's hosted page, press "pay"; the
    sandbox answers with a redirect back (the phone follows it) and POSTs its signed
    webhook to Gerai. "Gateway confirmed" is the moment the answer to the pay press
    arrives here (neither sandbox tells when it sent the callback; each starts sending
    it before it answers). From then on the keeper polls every 0.25 s instead of 0.5 s,
    to measure finer than the browser would; "shows paid" is the first poll that says
    LUNAS. Then "Penjualan berikutnya" (GET the stand screen);
  - cash, as stand.js sends it: POST .../kasir/jual with Accept: application/json and
    a fresh device key (kunci); 5% are sent again with the same key, as a device
    whose connection dropped does, and must be recorded once (200, new=false); then
    the sales list refreshes. The stand screen also refreshes its sales list every 5 s;
* ``--visitors`` visitors browse stand pages at random, 2-5 s between pages;
* ``--dashboards`` organizers' dashboards ask for the figures fragment every 3 s
  (HX-Target: dasbor-angka; Gerai caches it for 2 s).

Afterwards, keepers finish the sales they had started and pending charges settle;
after the dashboard's cache has expired (> 2 s), its data-total-fair is compared with
the orders in SQL (the total of the fair's stand orders whose status counts as paid),
with the sales ledger (ledger_entry: the fair's sales less refunds) and with what the
load generator itself saw paid.

Errors, printed by kind: every request (Gerai's pages and polls, the gateway's pay page
or wallet) answered with a non-2xx/3xx status or not the one a browser expects, failed
or timed out; every webhook/callback the sandbox sent to Gerai that was not answered
2xx (from the sandbox's own delivery log, read after the run); an answer without what
a browser needs from it; a QR sale not LUNAS within 30 s of the gateway confirming.
``http_req_failed`` is the share of requests (webhook deliveries included) that failed.

Prints figures and whether each target is met; a missed latency target never fails the
run. Exits non-zero when something is broken (issue 20's fair load gate):
``http_req_failed`` is 1% or more, the dashboard's total differs from the ledger (or a
sale the load generator saw paid is not in it), a server does not start, or setup or a
login fails. Every process it starts is stopped and the schema dropped, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import html
import json
import os
import random
import re
import secrets
import signal
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH)]

from _loadgen import percentiles  # noqa: E402
from checkout import (
    _CSRF_META,
    APP_NAME,
    DISTURBED_CORES,
    HOST,
    PAID_WITHIN_S,
    STRIPE_SANDBOX_KEY,
    XENDIT_SECRET_KEY,
    Broken,
    Connection,
    SessionSampler,
    Shopper,
    _one_get,
    bench_servers_env,
    clean_up,
    connect,
    cpu_between,
    create_schema,
    cuts,
    flask_cli,
    hidden_value,
    ms,
    print_log_errors,
    print_machine,  # noqa: E402
    proc_table,
    snapshot,
    start_gerai,
    start_sandbox,
    start_xendit_sandbox,
    tree_cpu,
    verdict,
    with_query,
    with_xendit,
)

# The app is imported here too (to set the fair up): its "search" package must come
# before bench/search.py, which checkout's import put first on the path.
sys.path.insert(0, str(ROOT))

PAID_STATUSES = ("new", "processing", "ready", "shipped", "completed")  # seller.services
LUNAS_TARGET_S = 2.0
DASHBOARD_TARGET_MS = 100.0
SCREEN_POLL_S = 0.5  # the stand screen asks for a pending charge every 500 ms (till.html)
FINE_POLL_S = 0.25  # ... here, after the gateway confirmed: finer, to measure better
SALES_LIST_EVERY_S = 5.0  # the stand screen's sales list (till.html: every 5s)
DASHBOARD_EVERY_S = 3.0  # the dashboard's figures (dashboard.html: every 3s)
DASHBOARD_CACHE_S = 2.0  # FAIR_DASHBOARD_SECONDS, its default
QR_SHARE, TYPED_SHARE, RESEND_SHARE = 0.5, 0.1, 0.05
ITEMS_PER_STAND = 8
LARGE_STOCK = 1_000_000
FAIR_STOCK = 100_000  # the most the goods form accepts
PASSWORD = "pameran-bench-2026"
ORGANIZER = "panitia-bench@gerai.test"
LOGINS_AT_ONCE = 4  # argon2id: 64 MiB and a good part of a core-second each
GATE_FAILED_SHARE = 0.01  # issue 20: the run fails when this share of requests failed
WALLET_APPS = ("OVO", "DANA", "GOPAY", "SHOPEEPAY", "LINKAJA", "BCA", "BRI", "MANDIRI")
_PAY_URL = re.compile(rb'href="(https?://[^"]+/bayar/[^"]+)"')
_QRIS = re.compile(rb'data-qris="([^"]+)"')  # the till's charge panel: #tagihan [data-qris]
_WALLET_AMOUNT = re.compile(rb'id="nominal">Rp([0-9.]+)<')
_CHARGE_PATH = re.compile(rb'hx-get="(/pameran/[^"]+/kasir/tagihan/[^"]+)"')
_HX_HEADERS = re.compile(rb"hx-headers='(\{[^']*\})'")  # what htmx sends with the poll
_POLLED = {  # a polled block's element and its hx-get (with ?v=, its version: polls.py)
    target: re.compile(rb'id="%s"[^>]*?hx-get="([^"]+)"' % target.encode())
    for target in ("tagihan", "penjualan", "dasbor-angka")}


def polled(body: bytes, target: str, fallback: str) -> str:
    """The URL the block ``target`` polls, as htmx asks it (its version in the query)."""
    found = _POLLED[target].search(body)
    return html.unescape(found.group(1).decode()) if found else fallback
_FORM_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
_TOTAL_FAIR = re.compile(rb'data-total-fair="(\d+)"')
_TOTAL_TODAY = re.compile(rb'data-total-today="(\d+)"')


# --- HTTP -------------------------------------------------------------------------------

def browser(number: int, port: int) -> Shopper:
    """checkout.Shopper as a browser: its ``call`` (timeouts, Broken) and a cookie jar."""
    me = Shopper(number, port)
    me.gerai = Connection(HOST, port)
    return me


def second_tab(me: Shopper) -> Connection:
    """Another connection of the same browser (same cookies), as htmx's polls get."""
    tab = Connection(HOST, me.gerai_port)
    tab.cookies = me.gerai.cookies
    return tab


# --- the gateway ---------------------------------------------------------------------------

@dataclass
class Gateway:
    """The gateway serving the stands' QR charges: its sandbox, and how a phone pays it."""
    name: str  # "xendit": the payer's app pays a QRIS; "stripe": a link to a hosted page
    port: int  # its sandbox's

    @property
    def label(self) -> str:
        return {"xendit": "xendit (Xendit-compatible QRIS sandbox)",
                "stripe": "stripe (Stripe-compatible sandbox, hosted page)"}[self.name]

    def deliveries(self) -> tuple[list[dict], int]:
        """Every webhook/callback attempt the sandbox logged (status or error), and how
        many its log keeps at most: older attempts than that are not seen."""
        if self.name == "xendit":
            path, kept = "/_sandbox/callbacks", 2000  # xendit_sandbox.Callbacks.log
            key = base64.b64encode(f"{XENDIT_SECRET_KEY}:".encode()).decode()
            authorization = f"Basic {key}"
        else:
            path, kept = "/_sandbox/deliveries", 1000  # sandbox.delivery.WebhookSender.log
            authorization = f"Bearer {STRIPE_SANDBOX_KEY}"
        status, _, body = asyncio.run(_one_get(self.port, path, {"Authorization": authorization}))
        if status != 200:
            raise Broken("sandbox delivery log", str(status))
        log = json.loads(body)
        return (log["log"] if isinstance(log, dict) else log), kept


# --- what the load generator saw ----------------------------------------------------------

@dataclass
class Tally:
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lunas_s: list[float] = field(default_factory=list)
    lunas_before_answer: int = 0  # the screen said LUNAS before the pay press's answer came
    polls_after_confirm: list[int] = field(default_factory=list)
    rung_up: dict[str, int] = field(default_factory=lambda: {"qr": 0, "cash": 0})
    paid: dict[str, int] = field(default_factory=dict)  # purchase code -> total (ours)
    resent: int = 0
    left_queueing: int = 0  # sales due before the end that the keeper had not begun by then
    cancelled: int = 0
    sent: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # requests by kind
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # ... that failed

    def fail(self, broken: Broken) -> None:
        self.errors.append(f"{broken.step}: {broken.what}")

    def failed_share(self) -> tuple[int, int, float]:
        """http_req_failed: (failed, sent, share) over every request, webhooks included."""
        sent, failed = sum(self.sent.values()), sum(self.failed.values())
        return failed, sent, failed / sent if sent else 1.0

    def count_deliveries(self, attempts: list[dict]) -> int:
        """The sandbox's webhook/callback attempts to Gerai, as requests; a non-2xx answer
        (or none) is an error. Returns how many were sent."""
        step = "gateway: webhook to Gerai"
        sent = [a for a in attempts if a.get("attempt")]  # attempt 0: not sent (switched off)
        for attempt in sent:
            self.sent[step] += 1
            status = attempt.get("status")
            if status is None or not 200 <= status < 300:
                self.failed[step] += 1
                self.errors.append(f"{step}: {status or attempt.get('error')}")
        return len(sent)


async def ask(me: Shopper, tally: Tally, step: str, method: str, path: str, form=None,
              headers=None, expect=(200,), connection: Connection | None = None):
    """One request, its client latency kept under ``step``; Broken when it fails."""
    connection = connection or me.gerai
    began, timings = time.perf_counter(), {}
    tally.sent[step] += 1
    try:
        response = await me.call(step, method, path, form, headers, expect=expect,
                                 timings=timings, connection=connection)
    except Broken:
        tally.failed[step] += 1  # a status not 2xx/3xx or not the expected one, or no answer
        connection.drop()  # a half-read answer must not be taken for the next one
        raise
    tally.ms[step].append((time.perf_counter() - began) * 1000)
    if "server " + step in timings:  # Server-Timing app;dur=
        tally.server_ms[step].append(timings["server " + step])
    return response


async def log_in(me: Shopper, email: str) -> None:
    page = await me.call("login page", "GET", "/masuk")
    token = hidden_value(page.body, "csrf_token")
    if token is None:
        raise Broken("login page", "no csrf_token")
    await me.call("login", "POST", "/masuk",
                  {"csrf_token": token, "email": email, "password": PASSWORD},
                  expect=(302, 303))


# --- the fair -------------------------------------------------------------------------------

@dataclass
class Item:
    id: int
    price: int


@dataclass
class StandInfo:
    code: str
    keeper: str  # the shop owner's email
    items: list[Item]


@dataclass
class FairInfo:
    id: int
    slug: str
    stands: list[StandInfo]


@contextmanager
def environment(env: dict):
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def prepare_fair(url: str, schema: str, env: dict, count: int) -> FairInfo:
    """The fair, its stands, their shops and goods, the keepers' and organizer's accounts."""
    with connect(url, schema) as db:
        shops = [shop_id for (shop_id,) in db.execute("""
            select s.id from shop s where s.status = 'verified' and exists (
                select 1 from product p where p.shop_id = s.id and p.status = 'active')
            order by s.id limit %s""", (count,))]
        if len(shops) < count:
            raise SystemExit(f"only {len(shops)} verified shops with products were seeded; "
                             f"{count} stands need as many")
        db.execute("update product set stock = %s where shop_id = any(%s)",
                   (LARGE_STOCK, shops))
    app_env = dict(env, DATABASE_URL=with_query(
        url, options=f"-csearch_path={schema}", application_name=APP_NAME + "-setup"))
    with environment(app_env):
        from datetime import time as clock
        from datetime import timedelta

        from sqlalchemy import update

        from storefront import create_app
        from storefront.accounts import services as accounts
        from storefront.accounts.models import User
        from storefront.accounts.passwords import hash_password
        from storefront.catalogue.models import Shop
        from storefront.exhibitions import services, till
        from storefront.extensions import db as sql
        from storefront.timeutil import today_in_jakarta

        app = create_app({"RATELIMIT_ENABLED": False})
        with app.app_context():
            today = today_in_jakarta()
            fair = services.create_fair("Pameran Bench Situ Cipondoh", "Situ Cipondoh",
                                        today, today + timedelta(days=2), clock(8), clock(22))
            stands = services.add_stands(fair, "A", 1, count)
            infos = []
            for number, (stand, shop_id) in enumerate(zip(stands, shops)):
                services.assign(stand, sql.session.get(Shop, shop_id))
                chosen = till.choosable(stand)[:ITEMS_PER_STAND]
                till.set_items(stand, {
                    (product.id, variant.id if variant else None):
                        FAIR_STOCK if (number + n) % 2 else None
                    for n, (product, variant) in enumerate(chosen)})
                infos.append(StandInfo(stand.code, stand.shop.owner.email,
                                       [Item(i.id, i.price) for i in till.stand_items(stand)]))
            owners = [stand.shop.owner_id for stand in stands]
            sql.session.execute(update(User).where(User.id.in_(owners))
                                .values(password_hash=hash_password(PASSWORD)))
            sql.session.commit()
            accounts.register("Panitia Bench", ORGANIZER, PASSWORD, roles=["organizer"])
            sql.session.commit()
            result = FairInfo(fair.id, fair.slug, infos)
            sql.session.remove()
            sql.engine.dispose()
    if any(not stand.items for stand in result.stands):
        raise SystemExit("a stand has no items: set_items found nothing to bring")
    return result


# --- the people -----------------------------------------------------------------------------

@dataclass
class Keeper:
    me: Shopper
    stand: StandInfo
    csrf: str = ""
    poll_tab: Connection | None = None  # htmx polls the charge on a connection of its own
    sales_url: str = ""  # what the screen's sales list polls now (its hx-get, with ?v=)


async def refresh_sales(keeper: Keeper, tally: Tally, connection: Connection | None = None):
    """The sales list, as htmx asks it: its own hx-get; a 204 leaves it as it is, a new
    list brings the URL (version) its next poll asks."""
    page = await ask(keeper.me, tally, "keeper: sales list", "GET", keeper.sales_url,
                     headers={"HX-Request": "true", "HX-Target": "penjualan"},
                     expect=(200, 204), connection=connection)
    if page.status == 200:
        keeper.sales_url = polled(page.body, "penjualan", keeper.sales_url)


async def open_screen(keeper: Keeper, slug: str, tally: Tally | None = None) -> None:
    path = f"/pameran/{slug}/{keeper.stand.code}/kasir"
    if tally is None:
        page = await keeper.me.call("stand screen", "GET", path)
    else:
        page = await ask(keeper.me, tally, "stand screen", "GET", path)
    match = _CSRF_META.search(page.body)
    if not match:
        raise Broken("stand screen", "no csrf-token")
    keeper.csrf = match.group(1).decode()
    keeper.sales_url = polled(page.body, "penjualan", path + "/penjualan")


def pick_sale(rng: random.Random, items: list[Item]) -> tuple[dict[str, str], int]:
    """The till's form fields for one sale, and its total as the server must price it."""
    if rng.random() < TYPED_SHARE:
        amount = rng.randrange(5_000, 100_001, 500)
        return {"nominal": str(amount)}, amount
    fields, total = {}, 0
    for item in rng.sample(items, min(len(items), rng.choice((1, 1, 2, 3)))):
        quantity = rng.choice((1, 1, 2))
        fields[f"q-{item.id}"] = str(quantity)
        total += item.price * quantity
    return fields, total


async def visitor_pays(gateway: Gateway, scanned: str, total: int, number: int, port: int,
                       rng: random.Random, tally: Tally, confirmed: asyncio.Event,
                       moment: dict) -> bool:
    """The visitor's phone pays the charge on screen (``scanned``: what its QR holds);
    True once the gateway confirmed."""
    phone = browser(number, port)
    try:
        await asyncio.sleep(rng.uniform(1.0, 3.0))  # takes out the phone, scans
        if gateway.name == "xendit":
            await wallet_pays(phone, gateway.port, scanned, total, rng, tally, confirmed, moment)
        else:
            await hosted_page_pays(phone, scanned, rng, tally, confirmed, moment)
    except Broken as broken:
        tally.fail(broken)
    finally:
        phone.reset()
    return confirmed.is_set()


def gateway_confirmed(confirmed: asyncio.Event, moment: dict) -> float:
    moment["confirmed"] = time.perf_counter()
    confirmed.set()
    return moment["confirmed"]


async def wallet_pays(phone: Shopper, port: int, qris: str, total: int, rng: random.Random,
                      tally: Tally, confirmed: asyncio.Event, moment: dict) -> None:
    """The payer's e-wallet or bank app (the sandbox's wallet page) reads the QRIS, shows
    the merchant and the amount, and pays it; the sandbox then calls Gerai back."""
    wallet = phone.connection_to(f"http://{HOST}:{port}")
    shown = await ask(phone, tally, "visitor: wallet reads QRIS", "POST", "/wallet",
                      {"qr_string": qris}, connection=wallet)
    amount = _WALLET_AMOUNT.search(shown.body)
    if not amount or int(amount.group(1).replace(b".", b"")) != total:
        raise Broken("visitor: wallet reads QRIS",
                     f"amount {amount.group(1).decode() if amount else '-'}, not the sale's")
    await asyncio.sleep(rng.uniform(0.5, 1.5))  # checks the merchant and the amount
    paid = await ask(phone, tally, "visitor: wallet pay", "POST", "/wallet/pay",
                     {"qr_string": qris, "app": rng.choice(WALLET_APPS), "hasil": "bayar"},
                     connection=wallet)
    if b"Berhasil dibayar" not in paid.body:
        raise Broken("visitor: wallet pay", "not paid")
    gateway_confirmed(confirmed, moment)


async def hosted_page_pays(phone: Shopper, pay_url: str, rng: random.Random, tally: Tally,
                           confirmed: asyncio.Event, moment: dict) -> None:
    """The Stripe-compatible way: Gerai's pay page, then the gateway's hosted page."""
    path = urlsplit(pay_url).path
    page = await ask(phone, tally, "visitor: pay page", "GET", path)
    match = _FORM_CSRF.search(page.body)
    if not match:
        raise Broken("visitor: pay page", "no pay button")
    await asyncio.sleep(rng.uniform(0.5, 1.5))  # reads the items and the amount
    answer = await ask(phone, tally, "visitor: bayar", "POST", path,
                       {"csrf_token": match.group(1).decode()}, expect=(303,))
    if "/pay/" not in answer.location:
        raise Broken("visitor: bayar", f"went to {urlsplit(answer.location).path}")

    async def counted(step, method, path, form=None, headers=None, expect=(200,),
                      timings=None, connection=None):
        return await ask(phone, tally, "visitor: " + step, method, path, form, headers,
                         expect, connection)

    began = time.perf_counter()
    back = await phone.pay_hosted(answer.location, call=counted)  # GET it, press "pay"
    tally.ms["visitor: hosted page + pay"].append(
        (gateway_confirmed(confirmed, moment) - began) * 1000)
    await ask(phone, tally, "visitor: receipt", "GET", urlsplit(back).path)


async def qr_sale(keeper: Keeper, slug: str, fields: dict, total: int, rng: random.Random,
                  tally: Tally, visitors_seen: list[int], gateway: Gateway) -> None:
    me, code = keeper.me, keeper.stand.code
    answer = await ask(me, tally, "keeper: sell qr", "POST", f"/pameran/{slug}/{code}/kasir/jual",
                       {"metode": "qr", "kunci": secrets.token_urlsafe(12),
                        "csrf_token": keeper.csrf, **fields},
                       {"HX-Request": "true", "HX-Target": "kasir"})
    tally.rung_up["qr"] += 1
    charge = _CHARGE_PATH.search(answer.body)
    code = (_QRIS if gateway.name == "xendit" else _PAY_URL).search(answer.body)
    if not charge:
        raise Broken("keeper: sell qr", "no charge on screen")
    if not code:
        raise Broken("keeper: sell qr", "no QRIS on screen" if gateway.name == "xendit"
                     else "no pay link on screen")
    charge_url = html.unescape(charge.group(1).decode())  # with ?v=: the version it shows
    charge_path = urlsplit(charge_url).path
    # As htmx does: the panel's hx-get (with its version) and hx-headers go with each
    # poll, and a 204 (nothing changed) leaves the panel as it is.
    sent_along = _HX_HEADERS.search(answer.body[charge.start():])
    poll_headers = {"HX-Request": "true", "HX-Target": "tagihan",
                    **(json.loads(sent_along.group(1)) if sent_along else {})}
    confirmed, moment = asyncio.Event(), {}
    visitors_seen[0] += 1
    visitor = asyncio.create_task(visitor_pays(
        gateway, html.unescape(code.group(1).decode()), total, 100_000 + visitors_seen[0],
        me.gerai_port, random.Random(rng.random()), tally, confirmed, moment))
    seen, fine_polls = None, 0
    try:
        while True:
            if not confirmed.is_set():
                if visitor.done():
                    break  # the visitor never got to pay
                try:  # htmx's "every 500ms"; the confirmation makes the next poll go at once
                    await asyncio.wait_for(confirmed.wait(), SCREEN_POLL_S)
                except asyncio.TimeoutError:
                    pass
            elif fine_polls:
                await asyncio.sleep(FINE_POLL_S)
            fine_polls += confirmed.is_set()
            page = await ask(me, tally, "keeper: charge poll", "GET", charge_url,
                             headers=poll_headers, expect=(200, 204),
                             connection=keeper.poll_tab)
            if page.status == 204:
                pass  # unchanged: still pending
            elif b"LUNAS" in page.body:
                seen = time.perf_counter()
                break
            elif b"charge-pending" not in page.body:
                raise Broken("keeper: charge poll", "charge closed unpaid")
            else:  # still pending, shown anew: the new panel polls with its own version
                charge_url = polled(page.body, "tagihan", charge_url)
            if confirmed.is_set() and time.perf_counter() - moment["confirmed"] > PAID_WITHIN_S:
                raise Broken("paid", f"not LUNAS within {PAID_WITHIN_S:g} s of the gateway")
    finally:
        paid_by_visitor = await visitor
    if seen is None and not paid_by_visitor:
        await ask(me, tally, "keeper: cancel charge", "POST", charge_path + "/batal",
                  {"csrf_token": keeper.csrf}, expect=(303,))
        tally.cancelled += 1
    elif seen is not None:
        if paid_by_visitor:
            lag = seen - moment["confirmed"]
            tally.lunas_before_answer += lag < 0
            tally.lunas_s.append(max(lag, 0.0))
            tally.polls_after_confirm.append(fine_polls)
        tally.paid[charge_path.rsplit("/", 1)[-1]] = total
    await open_screen(keeper, slug, tally)  # "Penjualan berikutnya"


async def cash_sale(keeper: Keeper, slug: str, fields: dict, total: int, rng: random.Random,
                    tally: Tally) -> None:
    me, code = keeper.me, keeper.stand.code
    form = {"metode": "cash", "kunci": secrets.token_urlsafe(12), **fields}
    if rng.random() < 0.5:
        form["diterima"] = str(-(-total // 50_000) * 50_000)  # a note that covers it
    headers = {"X-CSRFToken": keeper.csrf, "Accept": "application/json"}
    path = f"/pameran/{slug}/{code}/kasir/jual"
    answer = await ask(me, tally, "keeper: sell cash (json)", "POST", path, form, headers,
                       expect=(201,))
    tally.rung_up["cash"] += 1
    sale = json.loads(answer.body)
    if sale.get("total") != total or sale.get("status") != "paid":
        raise Broken("keeper: sell cash (json)",
                     f"total {sale.get('total')} status {sale.get('status')}, expected {total} paid")
    tally.paid[sale["code"]] = total
    if rng.random() < RESEND_SHARE:  # the device did not hear the answer and sends it again
        again = await ask(me, tally, "keeper: cash sent again", "POST", path, form, headers,
                          expect=(200,))
        tally.resent += 1
        if json.loads(again.body).get("code") != sale["code"]:
            raise Broken("keeper: cash sent again", "answered another sale")
    await refresh_sales(keeper, tally)  # stand.js: "refresh" on the list after a cash sale


async def keep_stand(keeper: Keeper, slug: str, rng: random.Random, tally: Tally, start: float,
                     end: float, sale_every: float, visitors_seen: list[int],
                     gateway: Gateway) -> None:
    next_at = start + rng.expovariate(1 / sale_every)
    while next_at < end:
        await asyncio.sleep(max(next_at - time.perf_counter(), 0))
        if time.perf_counter() >= end:  # time is up: whoever still queues here goes home
            while next_at < end:
                tally.left_queueing += 1
                next_at += rng.expovariate(1 / sale_every)
            break
        fields, total = pick_sale(rng, keeper.stand.items)
        try:
            if rng.random() < QR_SHARE:
                await qr_sale(keeper, slug, fields, total, rng, tally, visitors_seen, gateway)
            else:
                await cash_sale(keeper, slug, fields, total, rng, tally)
        except Broken as broken:
            tally.fail(broken)
        next_at += rng.expovariate(1 / sale_every)


async def sales_list(keeper: Keeper, slug: str, tally: Tally, done: asyncio.Event,
                     rng: random.Random) -> None:
    """The stand screen's own refresh of its sales list, every 5 s."""
    tab = second_tab(keeper.me)
    await asyncio.sleep(rng.uniform(0, SALES_LIST_EVERY_S))
    while not done.is_set():
        try:
            await refresh_sales(keeper, tally, tab)
        except Broken as broken:
            tally.fail(broken)
        try:
            await asyncio.wait_for(done.wait(), SALES_LIST_EVERY_S)
        except asyncio.TimeoutError:
            pass
    tab.drop()


async def visit(number: int, port: int, fair: FairInfo, rng: random.Random, tally: Tally,
                end: float) -> None:
    me = browser(number, port)
    await asyncio.sleep(rng.uniform(0, 5))  # the gates open; visitors stream in
    while time.perf_counter() < end:
        stand = rng.choice(fair.stands)
        try:
            await ask(me, tally, "visitor: stand page", "GET", f"/pameran/{fair.slug}/{stand.code}")
        except Broken as broken:
            tally.fail(broken)
        await asyncio.sleep(rng.uniform(2.0, 5.0))
    me.reset()


async def watch(me: Shopper, slug: str, rng: random.Random, tally: Tally, end: float) -> None:
    """An organizer's dashboard: the page once, then its figures every 3 s."""
    path = f"/pameran/{slug}/dasbor"
    try:
        page = await ask(me, tally, "dashboard: page", "GET", path)
        path = polled(page.body, "dasbor-angka", path)
    except Broken as broken:
        tally.fail(broken)
    next_at = time.perf_counter() + rng.uniform(0, DASHBOARD_EVERY_S)
    while next_at < end:
        await asyncio.sleep(max(next_at - time.perf_counter(), 0))
        next_at += DASHBOARD_EVERY_S
        try:  # as htmx asks: the block's hx-get (its version); 204 when nothing changed
            figures = await ask(me, tally, "dashboard: refresh", "GET", path, headers={
                "HX-Request": "true", "HX-Target": "dasbor-angka"}, expect=(200, 204))
            if figures.status == 200:
                if not _TOTAL_FAIR.search(figures.body):
                    raise Broken("dashboard: refresh", "no data-total-fair")
                path = polled(figures.body, "dasbor-angka", path)
        except Broken as broken:
            tally.fail(broken)


# --- the run -------------------------------------------------------------------------------

async def peak(args, port: int, fair: FairInfo, meter_url: str, pids: dict,
               gateway: Gateway) -> dict:
    rng = random.Random(args.seed)
    tally = Tally()
    keepers = [Keeper(browser(n, port), stand) for n, stand in enumerate(fair.stands)]
    organizers = [browser(10_000 + n, port) for n in range(args.dashboards)]
    gate = asyncio.Semaphore(LOGINS_AT_ONCE)

    async def keeper_in(keeper: Keeper) -> None:
        async with gate:
            await log_in(keeper.me, keeper.stand.keeper)
            await open_screen(keeper, fair.slug)
        keeper.poll_tab = second_tab(keeper.me)

    async def organizer_in(me: Shopper) -> None:
        async with gate:
            await log_in(me, ORGANIZER)

    began = time.perf_counter()
    try:
        await asyncio.gather(*(keeper_in(k) for k in keepers),
                             *(organizer_in(o) for o in organizers))
    except Broken as broken:
        raise SystemExit(f"logging in failed: {broken}") from None
    logins = time.perf_counter() - began
    print(f"\nLogged in {len(keepers)} keepers (each with their stand screen open) and "
          f"{len(organizers)} organizers in {logins:.1f} s")

    alone = await costs(args, port, fair, keepers[0], organizers[0], pids["gerai"])

    start = time.perf_counter()
    end = start + args.seconds
    first = snapshot()
    sampler = SessionSampler(meter_url)
    done = asyncio.Event()
    visitors_seen = [0]
    lists = [asyncio.create_task(sales_list(k, fair.slug, tally, done, random.Random(rng.random())))
             for k in keepers]
    await asyncio.gather(
        *(keep_stand(k, fair.slug, random.Random(rng.random()), tally, start, end,
                     args.sale_every, visitors_seen, gateway) for k in keepers),
        *(visit(n, port, fair, random.Random(rng.random()), tally, end)
          for n in range(args.visitors)),
        *(watch(o, fair.slug, random.Random(rng.random()), tally, end) for o in organizers),
        sampler.run(end))
    finished = time.perf_counter()
    last = snapshot()
    done.set()
    await asyncio.gather(*lists)
    for keeper in keepers:
        keeper.me.gerai.drop()
        keeper.poll_tab.drop()
    for me in organizers:
        me.gerai.drop()
    cpu = {(f"{gateway.name} sandbox" if part == "sandbox" else part): cores
           for part, cores in cpu_between(first, last, pids["gerai"], pids["sandbox"],
                                          sampler.postmaster, sampler.backends).items()}
    return {"tally": tally, "keepers": keepers, "organizers": organizers, "cpu": cpu,
            "wall": finished - start, "logins": logins,
            "alone": alone}


async def costs(args, port: int, fair: FairInfo, keeper: Keeper, organizer: Shopper,
                gerai_pid: int, count: int = 40) -> list[tuple[str, float, float, float]]:
    """One request at a time, before the peak: Gerai's CPU for the requests that come
    whether or not anyone buys, times how often the peak asks for them.

    Stand pages twice: the first view of each (rendered: what the peak sees once per
    stand and worker a minute, FRAGMENT_CACHE_SECONDS) and again (the shared page, what
    nearly every visitor gets). Polls twice: unchanged (204 from the version in its URL)
    and rendered (after a change, or without a version).

    Returns (what, requests a second in the peak, Gerai CPU ms each, client ms p50)."""
    visitor = browser(20_000, port)
    stands = [f"/pameran/{fair.slug}/{stand.code}" for stand in fair.stands]
    till = f"/pameran/{fair.slug}/{keeper.stand.code}/kasir"
    dashboard = f"/pameran/{fair.slug}/dasbor"
    sales_list = {"HX-Request": "true", "HX-Target": "penjualan"}
    fragment = {"HX-Request": "true", "HX-Target": "dasbor-angka"}
    screen = await keeper.me.call("stand screen", "GET", till)
    sales_polled = polled(screen.body, "penjualan", till + "/penjualan")
    page = await organizer.call("dashboard: page", "GET", dashboard)
    figures_polled = polled(page.body, "dasbor-angka", dashboard)
    sales_rate = len(fair.stands) / args.sale_every  # each sale changes its stand's list
    kinds = [  # what, who, paths, headers, how often the peak asks (a second), status, warm
        ("visitor: stand page, first", visitor, stands, {}, 0.0, 200, False),
        ("visitor: stand page, shared", visitor, stands, {}, args.visitors / 3.5, 200, True),
        ("keeper: sales list, unchanged", keeper.me, [sales_polled], sales_list,
         max(len(fair.stands) / SALES_LIST_EVERY_S - sales_rate, 0), 204, True),
        ("keeper: sales list, rendered", keeper.me, [till + "/penjualan"], sales_list,
         sales_rate * (1 + (1 - QR_SHARE)), 200, True),
        ("stand screen", keeper.me, [till], {}, sales_rate * QR_SHARE, 200, True),
        ("dashboard: refresh, unchanged", organizer, [figures_polled], fragment, 0.0, 204,
         True),
        ("dashboard: refresh, cached", organizer, [dashboard], fragment,
         args.dashboards / DASHBOARD_EVERY_S, 200, True),
        ("dashboard: figures computed", organizer, [dashboard], {},
         min(args.dashboards / DASHBOARD_EVERY_S, args.workers / DASHBOARD_CACHE_S), 200,
         True),
    ]
    rows = []
    try:
        for what, who, paths, headers, rate, status, warm in kinds:
            n = min(count, len(paths)) if not warm else count
            for path in (paths if warm and len(paths) > 1 else paths[:1] * 5):
                # warm: templates compiled, connections open, shared pages made
                await who.call(what, "GET", path, headers=headers, expect=(status,))
            before, took = proc_table(), []
            for k in range(n):
                path = paths[k % len(paths)] if warm else paths[-1 - k]
                began = time.perf_counter()
                await who.call(what, "GET", path, headers=headers, expect=(status,))
                took.append((time.perf_counter() - began) * 1000)
            cpu = tree_cpu(proc_table(), gerai_pid) - tree_cpu(before, gerai_pid)
            rows.append((what, rate, cpu * 1000 / n, percentiles(took)["p50"]))
    except Broken as broken:
        raise SystemExit(f"before the peak, {broken}") from None
    finally:
        visitor.reset()
    return rows


def print_costs(rows: list[tuple[str, float, float, float]], workers: int) -> None:
    print("\nOne request at a time, before the peak: Gerai's CPU (all its processes) for what is "
          "asked whether or not anyone buys")
    print(f"    {'':<30}{'CPU ms':>8}{'client ms':>11}{'peak asks':>11}{'cores':>7}")
    total = 0.0
    for what, rate, cpu, client in rows:
        total += rate * cpu / 1000
        print(f"    {what:<30}{cpu:8.1f}{client:11.1f}{rate:9.1f}/s{rate * cpu / 1000:7.2f}")
    print(f"    {'together':<30}{'':30}{total:7.2f}   of {os.cpu_count()} cores, before a single "
          "sale, webhook, pay page or PostgreSQL's share")
    print(f"    (visitors: one page every 3.5 s each, were every answer instant, nearly all the "
          f"shared page; the stand screen's list every {SALES_LIST_EVERY_S:g} s, rendered after "
          f"each sale at its stand (and a cash sale's refresh), else 204; the figures are "
          f"computed at most once per {DASHBOARD_CACHE_S:g} s in each of {workers} workers)")


async def dashboard_figures(me: Shopper, slug: str) -> tuple[int | None, int | None]:
    await asyncio.sleep(DASHBOARD_CACHE_S + 0.5)  # whatever a worker has cached has expired
    tab = second_tab(me)  # this event loop's own connection, the organizer's cookies
    try:
        page = await me.call("dashboard: final", "GET", f"/pameran/{slug}/dasbor",
                             headers={"HX-Request": "true", "HX-Target": "dasbor-angka"},
                             connection=tab)
    finally:
        tab.drop()
    fair, today = _TOTAL_FAIR.search(page.body), _TOTAL_TODAY.search(page.body)
    return (int(fair.group(1)) if fair else None), (int(today.group(1)) if today else None)


def settle(url: str, schema: str, fair_id: int, wait_s: float = PAID_WITHIN_S) -> int:
    """Wait for the fair's pending charges to settle; returns how many are still pending."""
    deadline = time.monotonic() + wait_s
    with connect(url, schema) as db:
        while True:
            pending = db.execute("""
                select count(*) from purchase p join stand s on s.id = p.stand_id
                where s.fair_id = %s and p.status = 'pending'""", (fair_id,)).fetchone()[0]
            if not pending or time.monotonic() > deadline:
                return pending
            time.sleep(0.5)


def ledger(url: str, schema: str, fair_id: int) -> dict:
    with connect(url, schema) as db:
        rows = db.execute("""
            select p.code, o.channel, o.total from "order" o
            join stand s on s.id = o.stand_id join purchase p on p.id = o.purchase_id
            where s.fair_id = %s and o.status = any(%s)""",
                          (fair_id, list(PAID_STATUSES))).fetchall()
        purchases = dict(db.execute("""
            select p.status, count(*) from purchase p join stand s on s.id = p.stand_id
            where s.fair_id = %s group by p.status""", (fair_id,)).fetchall())
        gateways = dict(db.execute("""
            select p.gateway, count(*) from purchase p join stand s on s.id = p.stand_id
            where s.fair_id = %s group by p.gateway""", (fair_id,)).fetchall())
        # The sales ledger every report reads: sales and refunds posted for the fair.
        entries = db.execute("""
            select coalesce(sum(amount), 0) from ledger_entry
            where fair_id = %s and kind in ('sale', 'refund')""", (fair_id,)).fetchone()[0]
    by_code: dict[str, int] = defaultdict(int)
    channels: dict[str, int] = defaultdict(int)
    for code, channel, total in rows:
        by_code[code] += total
        channels[channel] += total
    return {"total": sum(by_code.values()), "by_code": by_code, "channels": dict(channels),
            "orders": len(rows), "purchases": purchases, "entries": int(entries),
            "gateways": gateways}


# --- printing -------------------------------------------------------------------------------

def print_peak(args, result: dict, stands: int) -> None:
    tally: Tally = result["tally"]
    wall = result["wall"]
    offered = stands / args.sale_every
    sales = tally.rung_up["qr"] + tally.rung_up["cash"]
    print(f"\nThe peak: {args.seconds:g} s ({wall:.1f} s until the last sale begun had finished)")
    print(f"  sales rung up       {sales} ({tally.rung_up['qr']} QR, {tally.rung_up['cash']} cash): "
          f"{sales / args.seconds:.2f}/s; offered {offered:.2f}/s ({stands} stands, one every "
          f"{args.sale_every:g} s each)")
    if tally.left_queueing:
        print(f"  !! keepers fell behind: {tally.left_queueing} sales due in the {args.seconds:g} s "
              "were still waiting at the stands when the time was up (not rung up)")
    print(f"  paid as seen here   {len(tally.paid)}; QR charges the keeper cancelled after a "
          f"failed visitor: {tally.cancelled}; cash sales sent twice: {tally.resent}")
    views = len(tally.ms.get("visitor: stand page", []))
    print(f"  stand pages viewed  {views} ({views / args.seconds:.1f}/s by {args.visitors} "
          "visitors)")
    print("  ms per request: client (keep-alive; queueing included) | server (Server-Timing)")
    for step in sorted(tally.ms):
        values, server = tally.ms[step], percentiles(tally.server_ms.get(step, []))
        print(f"    {step:<27}{len(values):6d}  {cuts(values)}  max {max(values):7.1f}"
              f"  | p50 {ms(server['p50'])}  p95 {ms(server['p95'])}")
    lunas = [s * 1000 for s in tally.lunas_s]
    print(f"  gateway confirmed -> stand screen shows LUNAS, ms ({len(lunas)} QR sales; the "
          f"keeper polled every {FINE_POLL_S * 1000:.0f} ms after the gateway confirmed, the "
          f"browser does every {SCREEN_POLL_S * 1000:.0f} ms):")
    if lunas:
        c = percentiles(lunas)
        print(f"    p50 {c['p50']:7.1f}  p95 {c['p95']:7.1f}  p99 {c['p99']:7.1f}  "
              f"max {max(lunas):7.1f}; polls sent after the confirmation: mean "
              f"{sum(tally.polls_after_confirm) / len(tally.polls_after_confirm):.1f}"
              + (f"; {tally.lunas_before_answer} were LUNAS before the pay press's answer "
                 "arrived (counted as 0)" if tally.lunas_before_answer else ""))
    print_errors(tally, "errors", ", the load's alone (webhooks: below)")
    cpu = result["cpu"]
    print(f"  CPU, cores (of {os.cpu_count()}) during the peak:")
    for part, cores in cpu.items():
        if part != "machine":
            print(f"    {part:<28}{cores:5.2f}")
    print(f"    {'machine, all of it':<28}{cpu['machine']:5.2f}")
    if cpu["everything else"] + cpu.get("postgres, the rest", 0.0) > DISTURBED_CORES:
        print("    !! other work on the machine used CPU meanwhile: figures are disturbed")


def print_errors(tally: Tally, title: str, scope: str = "") -> None:
    """Errors by kind, and http_req_failed: the share of requests that failed."""
    kinds: dict[str, int] = defaultdict(int)
    for error in tally.errors:
        kinds[error] += 1
    print(f"  {title:<20}{len(tally.errors)}"
          + (f"   ({', '.join(f'{k} x{n}' for k, n in sorted(kinds.items()))})" if kinds else ""))
    failed, sent, share = tally.failed_share()
    print(f"  http_req_failed     {share:.2%}   ({failed} of {sent} requests failed{scope}: "
          "a status not 2xx/3xx or not the expected one, a timeout, a dropped connection"
          + (f"; {', '.join(f'{k} {n}' for k, n in sorted(tally.failed.items()) if n)}"
             if failed else "") + ")")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", choices=("xendit", "stripe"), default="xendit",
                        help="what serves the stands' QR charges: the Xendit-compatible QRIS "
                             "sandbox (the visitor's e-wallet app pays the code) or the "
                             "Stripe-compatible one (a link to its hosted page)")
    parser.add_argument("--seconds", type=float, default=180, help="how long the peak lasts")
    parser.add_argument("--stands", type=int, default=130)
    parser.add_argument("--visitors", type=int, default=300)
    parser.add_argument("--dashboards", type=int, default=10)
    parser.add_argument("--sale-every", type=float, default=20,
                        help="seconds between a stand's sales, on average")
    parser.add_argument("--workers", type=int, default=2, help="Gerai's gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per Gerai worker")
    parser.add_argument("--sandbox-threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2026, help="of the load's randomness")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"))
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the scratch folder with the servers' logs")
    args = parser.parse_args()
    if args.stands < 1 or args.dashboards < 1 or args.seconds <= 0:
        parser.error("--stands, --dashboards and --seconds must be positive")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cores = os.cpu_count() or 1
    schema = f"gerai_bench_{os.getpid()}"
    shops = args.stands * 20 // 19 + 6  # seed-demo leaves every 20th shop unverified
    products = shops * 12
    print(f"Gerai fair benchmark: {args.stands} stands (a sale every {args.sale_every:g} s "
          f"each, {QR_SHARE:.0%} by QR through {args.gateway}), {args.visitors} visitors, "
          f"{args.dashboards} dashboards, {args.seconds:g} s; PostgreSQL schema {schema}")
    print_machine()

    create_schema(args.database_url, schema)
    scratch = Path(tempfile.mkdtemp(prefix="gerai-bench-fair-"))
    gerai = sandbox = None
    broken: list[str] = []
    try:
        env, gerai_port, sandbox_port, hook = bench_servers_env(args.database_url, schema, scratch)
        gateway = Gateway(args.gateway, sandbox_port)
        if gateway.name == "xendit":
            hook = f"http://{HOST}:{gerai_port}/payments/webhooks/xendit"
            env = with_xendit(env, f"http://{HOST}:{sandbox_port}")
        print(f"\nSetup (scratch folder {scratch})")
        took = flask_cli(env, scratch / "setup.log", "db", "upgrade")
        print(f"  flask db upgrade    {took:6.1f} s")
        took = flask_cli(env, scratch / "setup.log", "seed-demo", "--products", str(products),
                         "--shops", str(shops))
        print(f"  flask seed-demo     {took:6.1f} s   ({products} products, {shops} shops)")
        began = time.perf_counter()
        fair = prepare_fair(args.database_url, schema, env, args.stands)
        items = sum(len(s.items) for s in fair.stands)
        print(f"  the fair            {time.perf_counter() - began:6.1f} s   (/pameran/{fair.slug}: "
              f"stands {fair.stands[0].code}..{fair.stands[-1].code}, each a distinct verified "
              f"shop, {items} items in all, every other with a fair stock of {FAIR_STOCK:,}; "
              f"products {LARGE_STOCK:,} in stock; keepers = the shops' owners; organizer "
              f"{ORGANIZER})")

        if gateway.name == "xendit":
            sandbox = start_xendit_sandbox(env, scratch, sandbox_port, hook, args.sandbox_threads)
            gateway_env = "QRIS_GATEWAY=xendit (stands' QR charges), XENDIT_SANDBOX_MOUNT=0"
            sandbox_what = "the Xendit-compatible QRIS sandbox; qr.payment callbacks " \
                           "(x-callback-token)"
        else:
            sandbox = start_sandbox(env, scratch, sandbox_port, hook, args.sandbox_threads)
            gateway_env = "PAYMENT_GATEWAY=sandbox, QRIS_GATEWAY unset, SANDBOX_MOUNT=0"
            sandbox_what = "the Stripe-compatible sandbox; signed webhooks"
        gerai = start_gerai(env, scratch, gerai_port, args.workers, args.threads)
        print(f"\nServers (all on {HOST}); gateway serving the stands' QR sales: {gateway.label}")
        print(f"  Gerai    :{gerai_port}  gunicorn -k gthread -w {args.workers} --threads "
              f"{args.threads} (GERAI_ENV=production, {gateway_env}, WORKER_THREAD=0, "
              "RATELIMIT_ENABLED=False: every client here is 127.0.0.1)")
        print(f"  {gateway.name:<8} :{sandbox_port}  gunicorn -k gthread -w 1 --threads "
              f"{args.sandbox_threads}: {sandbox_what} to {hook}")
        print("  load: asyncio in this process, raw HTTP/1.1 keep-alive, a cookie jar per browser")

        pids = {"gerai": gerai.pid, "sandbox": sandbox.pid}
        result = asyncio.run(peak(args, gerai_port, fair, args.database_url, pids, gateway))
        print_costs(result["alone"], args.workers)
        print_peak(args, result, len(fair.stands))
        tally: Tally = result["tally"]

        pending = settle(args.database_url, schema, fair.id)
        try:
            attempts, kept = gateway.deliveries()
        except (Broken, OSError, ValueError, asyncio.TimeoutError) as error:
            attempts, kept = [], 0
            broken.append(f"the {gateway.name} sandbox's delivery log could not be read: {error}")
        delivered = tally.count_deliveries(attempts)
        print(f"\nWebhooks, {gateway.name} sandbox -> Gerai (the sandbox's delivery log): "
              f"{delivered} attempts, {tally.failed['gateway: webhook to Gerai']} not answered 2xx"
              + (f"   (!! its log keeps only the last {kept}: older attempts are not counted)"
                 if len(attempts) >= kept else ""))
        shown, today = asyncio.run(dashboard_figures(result["organizers"][0], fair.slug))
        books = ledger(args.database_url, schema, fair.id)
        seen_total = sum(tally.paid.values())
        missing = sorted(set(tally.paid) - set(books["by_code"]))
        unseen = sorted(set(books["by_code"]) - set(tally.paid))
        wrong = [c for c in tally.paid if c in books["by_code"] and books["by_code"][c] != tally.paid[c]]
        print("\nTotals at the end")
        print("  purchases of the fair by status: "
              + ", ".join(f"{k} {v}" for k, v in sorted(books["purchases"].items()))
              + (f"   !! {pending} still pending after {PAID_WITHIN_S:g} s" if pending else ""))
        print("  ... by the gateway that served them: "
              + ", ".join(f"{k} {v}" for k, v in sorted(books["gateways"].items())))
        print(f"  dashboard, data-total-fair    {shown if shown is not None else '-':>14}"
              f"   (data-total-today {today}; fetched {DASHBOARD_CACHE_S + 0.5:g} s after the "
              "last poll, past its cache)")
        print(f"  ledger, SQL                   {books['total']:>14}   ({books['orders']} paid "
              f"orders: QR {books['channels'].get('fair_qr', 0)}, cash "
              f"{books['channels'].get('fair_cash', 0)})")
        print(f"  ledger entries, SQL           {books['entries']:>14}   (ledger_entry: sales less "
              "refunds of the fair)")
        print(f"  seen paid by the load         {seen_total:>14}   ({len(tally.paid)} sales)")
        if missing:
            print(f"  !! {len(missing)} sales seen paid are not paid in the ledger: {missing[:5]}")
            broken.append("sales seen paid are missing from the ledger")
        if wrong:
            print(f"  !! {len(wrong)} sales have another total in the ledger: {wrong[:5]}")
        if unseen:
            print(f"  {len(unseen)} paid in the ledger but not seen paid here (the load's errors): "
                  f"{unseen[:5]}")
        equal = shown == books["total"] == books["entries"]
        if not equal:
            broken.append("the dashboard's total differs from the ledger")

        c = percentiles([s * 1000 for s in tally.lunas_s])
        dash = percentiles(tally.ms.get("dashboard: refresh", []))
        failed, sent, share = tally.failed_share()
        if share >= GATE_FAILED_SHARE:
            broken.append(f"http_req_failed {share:.2%} ({failed} of {sent} requests): "
                          f"{GATE_FAILED_SHARE:.0%} or more")
        print(f"\nSummary (QR sales through {gateway.label})")
        print_errors(tally, "errors, all", ", webhook deliveries included")
        rows = [
            ("errors (target 0)", str(len(tally.errors)), verdict(not tally.errors)),
            (f"http_req_failed < {GATE_FAILED_SHARE:.0%} (must)", f"{share:.2%}",
             "" if share < GATE_FAILED_SHARE else "FAILED"),
            (f"gateway confirmed -> screen LUNAS p95 < {LUNAS_TARGET_S:g} s",
             "-" if c["p95"] is None else f"{c['p95'] / 1000:.2f} s",
             verdict(c["p95"] is not None and c["p95"] < LUNAS_TARGET_S * 1000)),
            (f"dashboard refresh p95 < {DASHBOARD_TARGET_MS:g} ms",
             "-" if dash["p95"] is None else f"{dash['p95']:.1f} ms",
             verdict(dash["p95"] is not None and dash["p95"] < DASHBOARD_TARGET_MS)),
            ("dashboard total = ledger (must)", "yes" if equal else "NO", ""),
            ("ledger = what the load saw paid", "yes" if seen_total == books["total"] else "no",
             ""),
        ]
        for what, figure, met in rows:
            print(f"  {what:<46}{figure:>12}   {met}")
        print(f"  gateway that served the QR sales: {gateway.label}")
        print(f"  (on {cores} shared cores: Gerai, the sandbox, PostgreSQL and the load generator "
              "together)")
        print_log_errors(scratch)
        if broken:
            print("\nBROKEN: " + "; ".join(broken))
            raise SystemExit(1)
    finally:
        clean_up([gerai, sandbox], args.database_url, schema, scratch, args.keep_logs)


if __name__ == "__main__":
    main()
