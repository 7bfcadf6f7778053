"""Gerai CPU and SQL statements per poll: the till's charge and sales list, the fair's
dashboard, the visitor's payment page (issue 16).

Seeds the demo (a fair with its stands) into a scratch SQLite database, signs in a stand
keeper and the organizer, rings up a QR charge, then asks each poll N times as htmx does
(HX-Request, HX-Target, the block's own hx-get with its version ?v=, and its
hx-headers), when nothing changed and right after a change (a cash sale at the stand,
which changes the sales list and the dashboard, not the charge). A bare endpoint (/sehat)
is the baseline, measured the same way in the same run. CPU is this process's
time.process_time around the WSGI app called directly (no network, no server threads, not
the test client's own work): what Gerai itself spends; SQL is the number of statements
the request sent to the database.

    .venv/bin/python bench/polls.py [--requests 300] [--products 200] [--redis URL]
        [--profile NAME]

``--redis redis://127.0.0.1:6379/15`` keeps the versions (and the cache) in that Redis
instead of this process; ``--profile "till: sales list, after a sale"`` prints the
cProfile of that row (cumulative time, the top 40).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from html import unescape as html_unescape
from pathlib import Path

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_MS = 0.5  # issue 16: an unchanged poll costs at most this much CPU


def polled(html: str, element_id: str) -> tuple[str | None, dict]:
    """The hx-get and hx-headers of the element with this id: what htmx asks with."""
    tag = re.search(r'<[^>]*\bid="%s"[^>]*>' % re.escape(element_id), html)
    if not tag:
        return None, {}
    url = re.search(r'hx-get="([^"]*)"', tag.group(0))
    headers = re.search(r"hx-headers='(\{[^']*\})'", tag.group(0))
    return (html_unescape(url.group(1)) if url else None,
            json.loads(headers.group(1)) if headers else {})


class Statements:
    """Counts the SQL statements sent, per request."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args):
        self.count += 1


def request_for(client, url: str, headers: dict) -> dict:
    """The WSGI environ of this browser's request (its cookies, its address and agent)."""
    environ = EnvironBuilder(path=url, headers=headers,
                             environ_base=client.environ_base).get_environ()
    client._add_cookies_to_wsgi(environ)
    return environ


def call(client, environ: dict, clock: list | None = None):
    """Straight into the WSGI app: the test client's own work (building the request,
    keeping cookies) is not Gerai's CPU. ``clock`` gets the CPU ms it took."""
    app = client.application
    started = time.process_time()
    answer = app.response_class.from_app(app.wsgi_app, environ)
    answer.get_data()
    if clock is not None:
        clock.append((time.process_time() - started) * 1000)
    return answer


def measure(client, url: str, n: int, statements: Statements, headers=None, before=None):
    """Median CPU ms, SQL statements per request, and the last status. ``before()`` runs
    ahead of each request (untimed): a change, for the "changed" rows. As htmx does, a
    block that came back replaces the one polling, with its own hx-get and hx-headers."""
    headers, asked = dict(headers or {}), [url]

    def ask(clock=None) -> int:
        answer = call(client, request_for(client, asked[0], headers), clock)
        if answer.status_code == 200 and "HX-Target" in headers:
            again, sent_along = polled(answer.get_data(as_text=True), headers["HX-Target"])
            asked[0] = again or asked[0]
            headers.update(sent_along)
        return answer.status_code

    for _ in range(10):  # warm: caches filled, templates compiled
        if before:
            before()
        ask()
    samples, sql, status = [], 0, 0
    for _ in range(n):
        if before:
            before()
        statements.count = 0
        status = ask(samples)
        sql += statements.count
    return statistics.median(samples), sql / n, status


def log_in(client, email: str, password: str) -> None:
    page = client.get("/masuk").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    answer = client.post("/masuk", data={"email": email, "password": password,
                                         "csrf_token": token})
    if answer.status_code not in (302, 303):
        raise SystemExit(f"logging in as {email} failed: HTTP {answer.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--redis", default="", help="keep versions and the cache in this Redis")
    parser.add_argument("--profile", default="", help="print the profile of the row so named")
    args = parser.parse_args()

    import os

    if args.redis:
        os.environ["REDIS_URL"] = args.redis
    else:
        os.environ.pop("REDIS_URL", None)
    folder = Path(tempfile.mkdtemp(prefix="gerai-polls-bench-"))
    os.environ["GERAI_INSTANCE"] = str(folder)  # its own versions file, nobody else's

    from sqlalchemy import select

    from bench.stand_page import demo_app
    from storefront.demo.seed import DEMO_PASSWORD
    from storefront.exhibitions import till
    from storefront.exhibitions.models import Stand, StandItem
    from storefront.extensions import db

    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()  # its own database: no versions of before
    app = demo_app(folder, args.products)
    with app.app_context():
        stand = db.session.scalars(select(Stand).join(StandItem, StandItem.stand_id == Stand.id)
                                   .order_by(Stand.id).limit(1)).first()
        fair_slug, code, keeper = stand.fair.slug, stand.code, stand.shop.owner.email
        item = till.stand_items(stand)[0]
        item.product.stock = 10**9  # enough for every sale the "after a sale" rows make
        if item.variant is not None:
            item.variant.stock = 10**9
        item.fair_stock = None
        charge, _new = till.ring_up(stand, [till.SaleLine(item, 1)], 0, method="qr",
                                    key="bench-polls-charge")
        charge_code, pay_token = charge.code, charge.pay_token
        db.session.commit()
        stand_id = stand.id
        db.session.remove()
    with app.app_context():
        statements = Statements(db.engine)

    sales = 0

    def cash_sale() -> None:
        nonlocal sales
        sales += 1
        with app.app_context():
            stand = db.session.get(Stand, stand_id)
            line = till.SaleLine(till.stand_items(stand)[0], 1)
            till.ring_up(stand, [line], 0, method="cash", key=f"bench-polls-cash-{sales}")
            db.session.commit()
            db.session.remove()

    plain = app.test_client()
    keeper_client = app.test_client()
    log_in(keeper_client, keeper, DEMO_PASSWORD)
    organizer = app.test_client()
    log_in(organizer, "admin@gerai.test", DEMO_PASSWORD)
    visitor = app.test_client()

    screen = f"/pameran/{fair_slug}/{code}/kasir"
    charge_url = f"{screen}/tagihan/{charge_code}"
    sales_url = f"{screen}/penjualan"
    dashboard_url = f"/pameran/{fair_slug}/dasbor"
    pay_url = f"/bayar/{pay_token}"

    def poll(client, page_url: str, target: str, fallback: str) -> tuple[str, dict]:
        """What the page's block polls, as htmx asks it."""
        url, sent_along = polled(client.get(page_url).get_data(as_text=True), target)
        return url or fallback, {"HX-Request": "true", "HX-Target": target, **sent_along}

    rows = [  # name, client, (url, headers), before
        ("till: charge poll, unchanged", keeper_client,
         poll(keeper_client, charge_url, "tagihan", charge_url), None),
        ("till: sales list, unchanged", keeper_client,
         poll(keeper_client, screen, "penjualan", sales_url), None),
        ("till: sales list, after a sale", keeper_client,
         poll(keeper_client, screen, "penjualan", sales_url), cash_sale),
        ("dashboard: refresh, unchanged", organizer,
         poll(organizer, dashboard_url, "dasbor-angka", dashboard_url), None),
        ("dashboard: refresh, after a sale", organizer,
         poll(organizer, dashboard_url, "dasbor-angka", dashboard_url), cash_sale),
        ("visitor: pay page poll, unchanged", visitor,
         poll(visitor, pay_url, "status-bayar", pay_url), None),
    ]
    store = "Redis " + args.redis if args.redis else "no REDIS_URL (this machine's own store)"
    print(f"Polls as htmx sends them (the block's own hx-get, with its version, and its "
          f"hx-headers), {args.requests} requests each, median CPU per request "
          f"(time.process_time around the WSGI app, SQLite; "
          f"versions: {store}); rate limits off (not measured here):")
    bare, bare_sql, _ = measure(plain, "/sehat", args.requests, statements)
    print(f"  {'bare endpoint /sehat':36s} {bare:6.2f} ms  (1.0× bare)  SQL {bare_sql:4.1f}")
    profiled = None
    for name, client, (url, headers), before in rows:
        ms, sql, status = measure(client, url, args.requests, statements, headers, before)
        flag = "" if status in (200, 204) else f"  !! HTTP {status}: an error, not a poll"
        print(f"  {name:36s} {ms:6.2f} ms  ({ms / bare:4.1f}× bare)  SQL {sql:4.1f}  "
              f"HTTP {status}{flag}")
        if name == args.profile:
            profiled = (client, url, headers, before)
        if "unchanged" in name and name != "visitor: pay page poll, unchanged":
            met = ms <= TARGET_MS and sql == 0 and status in (204, 304)
            print(f"    target: 204/304, no SQL, <= {TARGET_MS} ms CPU: "
                  f"{'met' if met else 'missed'}")
    if profiled:
        import cProfile
        import pstats

        client, url, headers, before = profiled
        profiler = cProfile.Profile()
        for _ in range(args.requests):
            if before:
                before()
            environ = request_for(client, url, headers)
            profiler.enable()
            call(client, environ)
            profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)

if __name__ == "__main__":
    main()
