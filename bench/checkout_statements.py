"""SQL statements and Gerai CPU per paid checkout, step by step, in one process.

Gerai and the sandbox gateway run on loopback threads in this process; one shopper
(requests) checks out N times: add to cart, details, review, Bayar, pay on the hosted
page, the gateway's webhook, the receipt. Every statement Gerai sends is counted per
request (SQLAlchemy's before_cursor_execute) and every request's CPU is the thread
CPU time of the thread that served it. A bare endpoint (/sehat) is measured the same
way in the same run, for the ratio.

    .venv/bin/python bench/checkout_statements.py [--checkouts 30] [--database-url URL]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from flask import g, request  # noqa: E402
from sqlalchemy import event  # noqa: E402
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

WEBHOOK_SECRET = "whsec_bench_statements"
SANDBOX_KEY = "sk_test_sandbox"
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


class Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
    return match.group(1) if match else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=30)
    parser.add_argument("--profile", default="",
                        help="a step to profile (cProfile, all its requests together)")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative, tottime")
    parser.add_argument("--callers", default="", help="with --profile: who calls functions matching this")
    parser.add_argument("--show", default="", help="print the statements of one step, once")
    parser.add_argument("--database-url", default=None,
                        help="default: a new SQLite file (PostgreSQL: postgresql+psycopg://...)")
    args = parser.parse_args()

    from storefront import create_app
    from storefront.catalogue.models import Category, Product, Shop
    from storefront.checkout.models import Purchase
    from storefront.extensions import db
    from storefront.payments.sandbox import create_sandbox_app
    from storefront.slugs import slugify

    scratch = Path(tempfile.mkdtemp(prefix="gerai-statements-"))
    url = args.database_url or f"sqlite:///{scratch / 'gerai.db'}"
    sandbox_app = create_sandbox_app(webhook_url=None, webhook_secret=WEBHOOK_SECRET)
    sandbox, sandbox_url = serve(sandbox_app)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False,
                      "SEARCH_BACKEND": "embedded", "SEARCH_INDEX_PATH": "",
                      "MEDIA_ROOT": str(scratch / "media"), "RATELIMIT_ENABLED": False,
                      "PAYMENT_GATEWAY": "sandbox", "SANDBOX_GATEWAY_URL": sandbox_url,
                      "SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET, "SANDBOX_MOUNT": False,
                      "WORKER_THREAD": False, "PAYMENT_GATEWAY_RETRIES": 0,
                      # the card sandbox alone: QRIS (the first method offered when it is
                      # on, as in development) would go to a Xendit nobody runs here
                      "QRIS_GATEWAY": "", "STAND_GATEWAY": ""})
    counts: dict[str, list[int]] = defaultdict(list)
    shown: dict[str, bool] = {}
    cpu: dict[str, list[float]] = defaultdict(list)

    with app.app_context():
        db.drop_all()
        db.create_all()
        top = Category(name="Makanan", slug="makanan")
        db.session.add(top)
        shop = Shop(owner_id=None, name="Dapur Bench", slug="dapur-bench", kecamatan="Cipondoh",
                    kelurahan="Ketapang", status="verified")
        from storefront.accounts.models import User
        owner = User(name="Penjual", email="penjual@bench.test", password_hash="x")
        db.session.add(owner)
        db.session.flush()
        shop.owner_id = owner.id
        db.session.add(shop)
        db.session.flush()
        product = Product(shop_id=shop.id, category_id=top.id, name="Keripik Bench",
                          slug=slugify("Keripik Bench"), price=15_000, stock=0, status="active")
        db.session.add(product)
        db.session.flush()
        try:
            from storefront.inventory import services as inventory
        except ImportError:  # a tree from before inventory/, measured as the baseline
            product.stock = 1_000_000
        else:
            inventory.change(product.id, 1_000_000, "restock")
        db.session.commit()
        product_id, slug = product.id, product.slug

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(conn, cursor, statement, parameters, context, executemany):
            try:
                g.statements = getattr(g, "statements", 0) + 1
                if args.show and request.headers.get("X-Bench-Step") == args.show \
                        and not shown.get(request.headers.get("X-Bench-Step") + str(g.get("n"))):
                    print("   ", " ".join(statement.split())[:150])
            except RuntimeError:
                pass  # outside a request (this script's own queries)

    profiles = []

    @app.before_request
    def start():
        g.statements = 0
        g.cpu_started = time.thread_time()
        if args.profile and request.headers.get("X-Bench-Step") == args.profile:
            import cProfile

            g.profiler = cProfile.Profile()
            g.profiler.enable()

    @app.after_request
    def stop(response):
        step = g.get("bench_step") or request.headers.get("X-Bench-Step", request.endpoint)
        counts[step].append(g.statements)
        if args.show == step:
            shown[step + "None"] = True
        cpu[step].append((time.thread_time() - g.cpu_started) * 1000)
        if g.get("profiler") is not None:
            g.profiler.disable()
            profiles.append(g.profiler)
        return response

    gerai, gerai_url = serve(app)
    sandbox_app.config["WEBHOOK_URL"] = None
    hook = f"{gerai_url}/payments/webhooks/sandbox"

    from storefront.payments.sandbox.delivery import signature_header

    def deliver_new_events(seen: set) -> None:
        events = requests.get(f"{sandbox_url}/v1/events", params={"limit": 100},
                              headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=5)
        import json
        for item in reversed(events.json()["data"]):
            if item["id"] in seen:
                continue
            seen.add(item["id"])
            body = json.dumps(item).encode()
            requests.post(hook, data=body, timeout=10, headers={
                "Stripe-Signature": signature_header(body, WEBHOOK_SECRET),
                "Content-Type": "application/json", "X-Bench-Step": "webhook"})

    seen: set = set()
    deliver_new_events(seen)
    paid = 0
    for n in range(args.checkouts + 3):
        shopper = requests.Session()
        page = shopper.get(f"{gerai_url}/produk/{product_id}/{slug}",
                           headers={"X-Bench-Step": "product page"}).text
        token = _TOKEN.search(page).group(1)
        shopper.post(f"{gerai_url}/keranjang/tambah", headers={"X-Bench-Step": "add"},
                     data={"product_id": product_id, "quantity": 1, "csrf_token": token})
        shopper.post(f"{gerai_url}/checkout", headers={"X-Bench-Step": "details"}, data={
            "name": "Budi", "whatsapp": "0812 1111 2222", "email": "",
            f"antar-{shop.id}": "pickup", "csrf_token": token})
        review = shopper.get(f"{gerai_url}/checkout/periksa",
                             headers={"X-Bench-Step": "review"}).text
        answer = shopper.post(f"{gerai_url}/checkout/bayar", allow_redirects=False,
                              headers={"X-Bench-Step": "bayar"},
                              data={"csrf_token": token, "attempt": hidden(review, "attempt"),
                                    "fingerprint": hidden(review, "fingerprint")})
        if answer.status_code not in (302, 303) or "Location" not in answer.headers:
            said = re.findall(r'role="alert"[^>]*>([^<]+)', answer.text)
            raise SystemExit(f"checkout {n + 1}: Bayar answered HTTP {answer.status_code}, not "
                             f"a redirect to the gateway: {said}")
        session_id = answer.headers["Location"].rstrip("/").split("/")[-1]
        requests.post(f"{sandbox_url}/_sandbox/sessions/{session_id}/pay", timeout=5,
                      headers={"Authorization": f"Bearer {SANDBOX_KEY}"}).raise_for_status()
        deliver_new_events(seen)
        with app.app_context():
            code = db.session.query(Purchase.code).filter(Purchase.payment_id == session_id).scalar()
        receipt = shopper.get(f"{gerai_url}/pesanan/{code}", headers={"X-Bench-Step": "receipt"})
        paid += "LUNAS" in receipt.text
        if n == 2:  # warm-up done: forget the first three
            counts.clear()
            cpu.clear()
    for _ in range(args.checkouts):
        requests.get(f"{gerai_url}/sehat", headers={"X-Bench-Step": "bare /sehat"})

    gerai.shutdown()
    sandbox.shutdown()
    if profiles:
        import pstats

        stats = pstats.Stats(profiles[0])
        for more in profiles[1:]:
            stats.add(more)
        stats.sort_stats(args.sort).print_stats(45)
        if args.callers:
            stats.print_callers(args.callers)
    print(f"Gerai statements and CPU per paid checkout: {args.checkouts} checkouts, one shopper, "
          f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}; "
          f"{paid} of {args.checkouts + 3} receipts said LUNAS")
    print(f"  {'step':<16}{'requests':>9}{'statements':>12}{'CPU ms':>9}   (means a checkout)")
    steps = ["product page", "add", "details", "review", "bayar", "webhook", "receipt"]
    total_statements, total_cpu = 0.0, 0.0
    for step in steps:
        if step not in counts:
            continue
        per = len(counts[step]) / args.checkouts
        statements = sum(counts[step]) / args.checkouts
        ms = sum(cpu[step]) / args.checkouts
        if step != "product page":
            total_statements += statements
            total_cpu += ms
        print(f"  {step:<16}{per:9.1f}{statements:12.1f}{ms:9.2f}")
    print(f"  {'paid checkout':<16}{'':9}{total_statements:12.1f}{total_cpu:9.2f}   "
          "(add to receipt; the product page apart)")
    bare = statistics.fmean(cpu["bare /sehat"]) if cpu.get("bare /sehat") else float("nan")
    print(f"  bare endpoint /sehat: {bare:.2f} ms CPU a request -> a paid checkout costs "
          f"{total_cpu / bare:.0f}x a bare request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
