"""Reports over a city's year of sales: the city report and a cooperative's live list.

    .venv/bin/python bench/reports.py [--lines 1000000] [--shops 2000] [--cooperatives 100]
        [--requests 40] [--database-url postgresql+psycopg://root@127.0.0.1:5432/test]

Makes a PostgreSQL schema of its own (``gerai_bench_reports_<pid>``), migrates it, and
generates in SQL (generate_series, so the 1,000,000 rows take seconds, not an ORM hour):
``--shops`` verified shops over the city's 104 kelurahan, ``--cooperatives`` cooperatives
with about 15 member shops each (joined a year ago), ten top-level categories, and a year
of paid orders with ``--lines`` order lines, each posted to the sales ledger as checkout
would post it (online, fair QR and fair cash; every 50th order later refunded). Then,
through the app (Flask's test client, in this process, logged in as the people who use
them):

* the city report for the last full month by kecamatan, as an observer: GET /laporan
  (target p95 under 300 ms);
* a cooperative manager's live list refresh: GET /koperasi/<slug>/baru?setelah=<id>,
  asking for what arrived since the last refresh (10 new sales of a member posted
  before each request; target p95 under 50 ms);
* as a baseline in the same run: GET /sehat, the app's cheapest answer.

Prints p50/p95/max of each, the ratio to the baseline, and whether the targets are met;
it never fails on a missed target. The schema is dropped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]  # the project's packages

import psycopg  # noqa: E402

from bench.checkout import connect, with_query  # noqa: E402

sys.path[:0] = [str(ROOT)]  # bench.checkout put bench/ first
CITY_REPORT_P95_MS = 300.0
LIVE_LIST_P95_MS = 50.0
PASSWORD = "laporan-bench-2026"


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"p50": cuts[49], "p95": cuts[94], "max": max(values)}


def generate(db: psycopg.Connection, args) -> dict:
    """Shops, cooperatives, orders, lines and their ledger entries, all in SQL."""
    from storefront.places import KELURAHAN_BY_KECAMATAN

    places = [(k, l) for k, kelurahan in KELURAHAN_BY_KECAMATAN.items() for l in kelurahan]
    orders = args.lines // 3
    started = time.perf_counter()
    db.execute("create temporary table place (n int, kecamatan text, kelurahan text)")
    with db.cursor().copy("copy place from stdin") as copy:
        for n, (k, l) in enumerate(places):
            copy.write_row((n, k, l))
    db.execute("""insert into category (id, name, slug, position)
        select g, 'Kategori ' || g, 'kategori-' || g, g from generate_series(1, 10) g""")
    db.execute("""insert into "user" (id, email, name, password_hash, session_token, created_at)
        select g, 'penjual' || g || '@bench.test', 'Penjual ' || g, 'x', md5(g::text), now()
        from generate_series(1, %s) g""", (args.shops,))
    db.execute("""insert into shop (id, owner_id, name, slug, type, kecamatan, kelurahan,
            description, owner_name, whatsapp, address, status, submitted_at, verified_at,
            created_at)
        select g, g, 'Toko ' || g, 'toko-' || g, case when g %% 7 = 0 then 'koperasi' else 'umkm' end,
            p.kecamatan, p.kelurahan, '', '', '', '', 'verified', now(), now(), now()
        from generate_series(1, %s) g join place p on p.n = g %% %s""",
               (args.shops, len(places)))
    db.execute("""insert into cooperative (id, name, slug, legal_number, kecamatan, kelurahan,
            created_at)
        select g, 'Koperasi ' || g, 'koperasi-' || g, 'AHU-' || g, p.kecamatan, p.kelurahan, now()
        from generate_series(1, %s) g join place p on p.n = g %% %s""",
               (args.cooperatives, len(places)))
    members = min(args.shops, args.cooperatives * 15)
    db.execute("""insert into membership (cooperative_id, shop_id, status, joined_at, created_at)
        select 1 + (g - 1) %% %s, g, 'active', now() - interval '400 days', now()
        from generate_series(1, %s) g""", (args.cooperatives, members))
    db.execute("""insert into "order" (id, code, shop_id, buyer_name, buyer_whatsapp, status,
            fulfilment, subtotal, delivery_fee, total, platform_fee, channel, paid_at,
            refunded_at, created_at, updated_at)
        select g, 'P-' || g, 1 + (g::bigint * 7919) %% %(shops)s, 'Budi', '', 
            case when g %% 50 = 0 then 'cancelled' else 'completed' end,
            'pickup', 45000, 0, 45000, 0,
            (array['online', 'fair_qr', 'fair_cash'])[1 + g %% 3],
            now() - (g::float / %(orders)s) * interval '365 days',
            case when g %% 50 = 0 then now() - (g::float / %(orders)s) * interval '365 days'
                 + interval '1 hour' end,
            now(), now()
        from generate_series(1, %(orders)s) g""", {"shops": args.shops, "orders": orders})
    db.execute("""insert into order_line (id, order_id, name, unit_price, quantity, line_total)
        select g, 1 + (g - 1) / 3, 'Barang ' || g, 15000, 1, 15000
        from generate_series(1, %s) g""", (orders * 3,))
    ledger_columns = """(source, kind, amount, posted_at, shop_id, order_id, order_line_id, channel,
            quantity, kecamatan, kelurahan, shop_type, cooperative_id, category_id)"""
    for kind, sign, at in (("sale", "", "o.paid_at"), ("refund", "-", "o.refunded_at")):
        db.execute(f"""insert into ledger_entry {ledger_columns}
            select '{kind}:line:' || l.id, '{kind}', {sign}l.line_total, {at}, o.shop_id, o.id,
                l.id, o.channel, {sign}1, s.kecamatan, s.kelurahan, s.type, m.cooperative_id,
                1 + l.id % 10
            from order_line l join "order" o on o.id = l.order_id join shop s on s.id = o.shop_id
            left join membership m on m.shop_id = s.id and m.status = 'active'
            where {at} is not null order by {at}""")
    for table in ("user", "shop", "cooperative", "order", "order_line", "category"):
        db.execute(f"""select setval(pg_get_serial_sequence('"{table}"', 'id'),
                                     (select max(id) from "{table}"))""")
    db.execute("analyze")
    entries = db.execute("select count(*) from ledger_entry").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "orders": orders, "lines": orders * 3,
            "entries": entries, "members": members}


def timed(client, url: str, count: int, before=None, headers=None) -> list[float]:
    times = []
    for _ in range(count):
        if before:
            before()
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code not in (200, 204):
            raise RuntimeError(f"{url} answered {response.status_code}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--shops", type=int, default=2000)
    parser.add_argument("--cooperatives", type=int, default=100)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"))
    args = parser.parse_args()
    schema = f"gerai_bench_reports_{os.getpid()}"
    print(f"Gerai reports benchmark: {args.lines:,} paid sale lines, {args.shops} shops, "
          f"{args.cooperatives} cooperatives; PostgreSQL schema {schema}")
    print(f"Machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    with connect(args.database_url) as admin:
        admin.execute(f'create schema "{schema}"')
    try:
        run(args, schema)
    finally:
        with connect(args.database_url) as admin:
            admin.execute(f'drop schema if exists "{schema}" cascade')


def run(args, schema: str) -> None:
    from flask_migrate import upgrade

    from storefront import create_app
    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.cooperatives.models import Cooperative
    from storefront.extensions import db
    from tests.helpers import csrf_token

    url = with_query(args.database_url, options=f"-csearch_path={schema}")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False,
                      "RATELIMIT_ENABLED": False, "SEARCH_INDEX_PATH": "",
                      "WTF_CSRF_ENABLED": True, "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1})
    with app.app_context():
        started = time.perf_counter()
        upgrade(directory=str(ROOT / "storefront" / "migrations"))
        print(f"  migrate                {time.perf_counter() - started:6.1f} s")
    with connect(args.database_url, schema) as raw:
        made = generate(raw, args)
    print(f"  generate in SQL        {made['seconds']:6.1f} s   ({made['orders']:,} orders, "
          f"{made['lines']:,} lines, {made['entries']:,} ledger entries, {made['members']} "
          "member shops)")

    with app.app_context():
        observer = User(email="pengamat@bench.test", name="Pengamat",
                        password_hash=hash_password(PASSWORD))
        observer.roles = [UserRole(role="observer")]
        manager = User(email="pengelola@bench.test", name="Pengelola",
                       password_hash=hash_password(PASSWORD))
        manager.roles = [UserRole(role="coop_manager")]
        coop = db.session.get(Cooperative, 1)
        coop.managers.append(manager)
        db.session.add_all([observer, manager])
        db.session.commit()
        coop_slug = coop.slug
        member_shop = 1  # shop 1 is a member of cooperative 1

    def logged_in(email: str):
        client = app.test_client()
        client.post("/masuk", data={"email": email, "password": PASSWORD,
                                    "csrf_token": csrf_token(client, "/masuk")})
        return client

    city, coop_client = logged_in("pengamat@bench.test"), logged_in("pengelola@bench.test")
    today = date.today()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    report_url = (f"/laporan?dari={last_month_end.replace(day=1)}&sampai={last_month_end}"
                  "&menurut=kecamatan")
    assert "data-report-total" in city.get(report_url).get_data(as_text=True)

    with app.app_context():
        from storefront.exhibitions import till  # noqa: F401 (models for the ledger)
        from storefront.ledger.models import LedgerEntry

        last_seen = [db.session.scalar(db.select(db.func.max(LedgerEntry.id)))]

    def ten_new_sales() -> None:
        """Ten sales of a member arrive between two refreshes, as checkout posts them."""
        with connect(args.database_url, schema) as raw:
            raw.execute("""insert into ledger_entry (source, kind, amount, posted_at, shop_id,
                    channel, quantity, kecamatan, kelurahan, shop_type, cooperative_id, order_id)
                select 'bench:' || gen_random_uuid(), 'sale', 15000, now(), %s, 'online', 1,
                    'Cipondoh', 'Ketapang', 'umkm', 1, (select max(id) from "order") - g
                from generate_series(1, 10) g""", (member_shop,))
        live_url[0] = f"/koperasi/{coop_slug}/baru?setelah={last_seen[0]}"
        last_seen[0] += 10

    live_url = [""]
    timings = {
        "baseline: GET /sehat": timed(city, "/sehat", args.requests * 2),
        "city report, a month by kecamatan": timed(city, report_url, args.requests),
    }
    live = []
    for _ in range(args.requests):
        ten_new_sales()
        live += timed(coop_client, live_url[0], 1,
                      headers={"HX-Request": "true", "HX-Target": "poller"})
    timings["cooperative live list, 10 new sales"] = live
    base = percentiles(timings["baseline: GET /sehat"])["p50"]
    print("\nms per request through the app (Flask test client, PostgreSQL on loopback)")
    for name, values in timings.items():
        cut = percentiles(values)
        print(f"  {name:<40} n={len(values):<4} p50 {cut['p50']:8.1f}  p95 {cut['p95']:8.1f}  "
              f"max {cut['max']:8.1f}   p50 = {cut['p50'] / base:6.1f}x baseline")
    report_p95 = percentiles(timings["city report, a month by kecamatan"])["p95"]
    live_p95 = percentiles(live)["p95"]
    print("\nSummary")
    print(f"  city report p95 < {CITY_REPORT_P95_MS:g} ms     {report_p95:8.1f} ms   "
          f"{'met' if report_p95 < CITY_REPORT_P95_MS else 'NOT MET'}")
    print(f"  live list refresh p95 < {LIVE_LIST_P95_MS:g} ms {live_p95:8.1f} ms   "
          f"{'met' if live_p95 < LIVE_LIST_P95_MS else 'NOT MET'}")


if __name__ == "__main__":
    main()
