"""Gerai as deploy/Procfile runs it, hurt on purpose (issue 17).

gunicorn with 2 gthread workers and 2 queue consumers (`flask worker`) on a PostgreSQL
schema of their own, the tasks in the real Redis, the catalogue in a real Meilisearch,
the sandbox gateway as a server of its own. A seller imports a CSV of 2,000 rows through
the pages while shoppers check out. Mid-way, the consumer running the import and one
web worker are killed with SIGKILL (the consumer is found by the PostgreSQL transaction
its import holds open: each process names itself through PGAPPNAME).

Afterwards: the import was reported failed with its reason (never left "running"), ran
again to the end once asked and wrote each product once; every payment the gateway took
is a paid purchase settled once; the search index holds exactly the visible products;
`ledger-check` passes.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import redis
import requests

from storefront import create_app
from storefront.extensions import db
from storefront.payments.sandbox import create_sandbox_app
from tests.conftest import TEST_PASSWORD, _test_config
from tests.factories import CategoryFactory, ShopFactory, UserFactory
from tests.helpers import Served, redis_reason
from tests.meili_server import unique_prefix

from .harness import HOST, ROOT, WEBHOOK_SECRET, bench, off_loop, prepare_catalogue, shared_schema, sql
from .test_worker_killed import paid_sessions, shop

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

ROWS = 2000
SHOPPERS = 4
REDIS_URL = "redis://127.0.0.1:6379/4"
SELLER = "impor@contoh.id"
KEEPER = "stan@contoh.id"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def catalogue_file() -> bytes:
    lines = ["sku,nama,kategori,harga,stok"]
    lines += [f"IMP-{n:04d},Kue Impor Nomor {n},Makanan,{10_000 + n},{n % 40 + 1}"
              for n in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def prepare_seller_and_stand(database_url: str, media) -> tuple[str, str]:
    """The importing seller's shop, and a stand at today's fair with its keeper: the fair's
    slug and the stand's code."""
    from datetime import time as clock
    from datetime import timedelta

    from storefront.exhibitions import services as fairs
    from storefront.timeutil import today_in_jakarta

    app = create_app(_test_config(database_url, media))
    with app.app_context():
        CategoryFactory(name="Makanan", slug="makanan")
        ShopFactory(owner=UserFactory(email=SELLER, roles=["shopper", "seller"]),
                    name="Toko Impor Besar")
        keeper_shop = ShopFactory(owner=UserFactory(email=KEEPER, roles=["shopper", "seller"]),
                                  name="Warung Stan Pameran")
        today = today_in_jakarta()
        fair = fairs.create_fair("Pameran Uji Produksi", "Situ Cipondoh", today,
                                 today + timedelta(days=1), clock(0), clock(23, 59))
        stand = fairs.add_stands(fair, "A", 1, 1)[0]
        fairs.assign(stand, keeper_shop)
        db.session.commit()
        where = (fair.slug, stand.code)
        db.session.remove()
        db.engine.dispose()
    return where


class Keeper:
    """The stand's till: typed-amount cash sales, each with the key the device makes,
    sent again when the answer was lost (as stand.js does)."""

    def __init__(self, base: str, slug: str, code: str):
        self.http, self.path = requests.Session(), f"{base}/pameran/{slug}/{code}/kasir"
        page = self.http.get(f"{base}/masuk", timeout=10).text
        self.http.post(f"{base}/masuk", timeout=10, data={
            "email": KEEPER, "password": TEST_PASSWORD, "csrf_token": CSRF.search(page)[1]})
        self.csrf = CSRF_META.search(self.http.get(self.path, timeout=30).text)[1]
        self.rung: dict[str, int] = {}  # the device's key -> rupiah

    def sell_until(self, stop) -> None:
        number = 0
        while not stop.is_set():
            number += 1
            key, amount = f"uji-{number:05d}", 5_000 + 500 * number
            for _ in range(20):  # until an answer comes (a killed worker answers nothing)
                try:
                    answer = self.http.post(f"{self.path}/jual", timeout=15, data={
                        "metode": "cash", "kunci": key, "nominal": str(amount)},
                        headers={"X-CSRFToken": self.csrf, "Accept": "application/json"})
                except requests.RequestException:
                    continue
                if answer.status_code in (200, 201):
                    self.rung[key] = amount
                    break
                time.sleep(0.1)
            time.sleep(0.05)


def consumer(env: dict, scratch, name: str) -> subprocess.Popen:
    log = open(scratch / f"{name}.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "storefront", "worker", "--workers", "2"],
        cwd=ROOT, env=dict(env, PGAPPNAME=name), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    log.close()
    return process


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "storefront", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


class Seller:
    def __init__(self, base: str):
        self.base, self.http = base, requests.Session()
        page = self.http.get(f"{base}/masuk", timeout=10).text
        self.http.post(f"{base}/masuk", timeout=10, data={
            "email": SELLER, "password": TEST_PASSWORD, "csrf_token": CSRF.search(page)[1]})

    def upload(self, data: bytes) -> str:
        page = self.http.get(f"{self.base}/penjual/produk/impor", timeout=10).text
        answer = self.http.post(f"{self.base}/penjual/produk/impor", timeout=60,
                                data={"csrf_token": CSRF.search(page)[1]},
                                files={"file": ("katalog-besar.csv", data)}, allow_redirects=False)
        assert answer.status_code == 303, answer.text[:500]
        return answer.headers["Location"]

    def run(self, job: str) -> None:
        page = self.http.get(f"{self.base}{job}", timeout=30).text
        answer = self.http.post(f"{self.base}{job}/jalankan", timeout=30,
                                data={"csrf_token": CSRF.search(page)[1]}, allow_redirects=False)
        assert answer.status_code == 303


def job_row(url: str) -> tuple:
    with sql(url) as connection:
        return connection.execute(
            "select id, status, done, error from import_job order by id desc limit 1").fetchone()


def import_holder(url: str) -> str | None:
    """Which consumer has the import's transaction open (its PGAPPNAME), if any."""
    with sql(url) as connection:
        row = connection.execute(
            "select application_name from pg_stat_activity where application_name like "
            "'consumer-%' and xact_start < now() - interval '300 milliseconds' "
            "order by xact_start limit 1").fetchone()
    return row[0] if row else None


def wait_for(check, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(step)
    pytest.fail(f"{what} did not happen within {timeout} s")


async def shoppers(port: int, products, seconds: float) -> tuple[list[str], list[str]]:
    paid, broken = [], []
    until = time.perf_counter() + seconds
    await asyncio.gather(*(shop(n, port, products, until, paid, broken)
                           for n in range(SHOPPERS)))
    return paid, broken


def test_procfile_processes_killed_mid_import_lose_nothing_and_run_nothing_twice(
        scratch, meili_server):
    if reason := redis_reason(REDIS_URL):
        pytest.skip(reason)
    meili_url, meili_key = meili_server
    queue_name = f"gerai-prod-{os.getpid()}-{time.monotonic_ns()}"
    with shared_schema("prod") as url:
        products = prepare_catalogue(url, scratch / "setup-media")
        fair_slug, stand_code = prepare_seller_and_stand(url, scratch / "setup-media")
        port = bench.free_port()
        hook = f"http://{HOST}:{port}/payments/webhooks/sandbox"
        sandbox = Served(create_sandbox_app(webhook_url=hook, webhook_secret=WEBHOOK_SECRET))
        env = dict(bench.server_env(scratch, url, sandbox.url, hook),
                   REDIS_URL=REDIS_URL, TASK_QUEUE="redis", TASK_QUEUE_NAME=queue_name,
                   SEARCH_BACKEND="meilisearch", MEILI_URL=meili_url, MEILI_MASTER_KEY=meili_key,
                   MEILI_INDEX_PREFIX=unique_prefix(), IMPORT_STALE_SECONDS="5",
                   LOG_FORMAT="text")
        web = consumers = None
        try:
            for command in (("search-setup",), ("search-reindex",)):
                done = flask(env, *command)
                assert done.returncode == 0, done.stderr
            # Plain-http cookies: the test client is no browser with TLS.
            web = off_loop(bench.start_gunicorn, [
                "-w", "2", "-k", "gthread", "--threads", "4", "--timeout", "60",
                "storefront:create_app({'RATELIMIT_ENABLED': False, "
                "'HOLDS_PER_CLIENT': 1000000000, 'HELD_UNITS_PER_CLIENT_PRODUCT': 1000000000, "
                "'SESSION_COOKIE_SECURE': False, 'SESSION_COOKIE_NAME': 'gerai', "
                "'REMEMBER_COOKIE_SECURE': False, 'REMEMBER_COOKIE_NAME': 'gerai-ingat'})"],
                env, scratch / "gerai.log", "/sehat", port, "Gerai")
            consumers = {name: consumer(env, scratch, name)
                         for name in ("consumer-a", "consumer-b")}
            base = f"http://{HOST}:{port}"
            seller = Seller(base)
            job = seller.upload(catalogue_file())
            seller.run(job)

            keeper = Keeper(base, fair_slug, stand_code)
            selling = threading.Event()
            till = threading.Thread(target=keeper.sell_until, args=(selling,))
            till.start()
            holder = wait_for(lambda: import_holder(url), 60, "the import starting")
            # Shoppers check out while the import runs; one web worker dies among them.
            web_workers = sorted(pid for pid, (parent, _) in bench.proc_table().items()
                                 if parent == web.pid)
            with ThreadPoolExecutor(1) as pool:  # a thread of its own: no event loop there yet
                shopping = pool.submit(asyncio.run, shoppers(port, products, 6.0))
                time.sleep(1.0)
                os.kill(consumers[holder].pid, signal.SIGKILL)
                os.kill(web_workers[0], signal.SIGKILL)
                seen_paid, broken = shopping.result(timeout=120)
            selling.set()
            till.join(60)

            # The surviving consumer's sweep (once a minute) reports the import cut off.
            _, status, _, error = wait_for(
                lambda: (row := job_row(url))[1] != "running" and row, 90,
                "the cut-off import being reported")
            assert status == "failed" and "Impor terhenti" in error, (status, error)
            page = seller.http.get(f"{base}{job}", timeout=30).text
            assert "Impor terhenti" in page
            # The seller runs it again; the other consumer takes it to the end.
            seller.run(job)
            _, status, done, error = wait_for(
                lambda: (row := job_row(url))[1] != "running" and row, 120, "the import ending")
            assert (status, done, error) == ("done", ROWS, None)

            reconciled = flask(env, "payments-reconcile", "--older-than", "0")
            assert reconciled.returncode == 0, reconciled.stderr
            events = paid_sessions(sandbox.url)
            checked = flask(env, "ledger-check")
            # The search index catches up by itself (drains enqueued by every commit).
            outbox_empty = wait_for(lambda: _outbox(url) == 0 or None, 60, "the outbox draining")
        finally:
            bench.stop(web)
            for process in (consumers or {}).values():
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
                    try:
                        process.wait(15)
                    except subprocess.TimeoutExpired:
                        process.kill()
            sandbox.close()
            redis.Redis.from_url(REDIS_URL).flushdb()

        index, visible = _index_and_database(env)
        with sql(url) as connection:
            imported = connection.execute(
                "select count(*), count(distinct sku) from product where sku like 'IMP-%'"
            ).fetchone()
            adjustments = connection.execute(
                "select count(*) from stock_adjustment a join product p on p.id = a.product_id "
                "where p.name like 'Kue Impor Nomor %'").fetchone()[0]
            purchases = dict(connection.execute("select code, status from purchase").fetchall())
            stand_sales = dict(connection.execute(
                "select pu.attempt, o.total from \"order\" o join purchase pu "
                "on pu.id = o.purchase_id where o.channel = 'fair_cash'").fetchall())
            stand_id = connection.execute("select id from stand where code = %s",
                                          (stand_code,)).fetchone()[0]
            settled = connection.execute(
                "select p.code, count(r.id) from purchase p join payment_record r "
                "on r.purchase_id = p.id and r.kind = 'settled' group by p.code").fetchall()

    taken = [e["data"]["object"]["client_reference_id"] for e in events]
    print(f"\nkilled {holder} mid-import and web worker {web_workers[0]}; "
          f"{len(taken)} payments taken, {len(broken)} checkouts broke, {len(keeper.rung)} "
          f"cash sales at the stand; outbox {outbox_empty}")
    assert imported == (ROWS, ROWS)  # each product once, although the file ran twice
    assert adjustments == ROWS  # each opening stock counted once
    assert taken and len(set(taken)) == len(taken)
    online = {c for c, s in purchases.items() if s == "paid" and not c.startswith("ST-")}
    assert online == set(taken)  # ST-: the stand's cash sales, below
    assert all(count == 1 for _, count in settled), settled
    assert set(seen_paid) <= set(taken)
    from storefront.exhibitions.till import attempt_for

    rung = {attempt_for(SimpleNamespace(id=stand_id), key): amount
            for key, amount in keeper.rung.items()}
    assert rung and stand_sales == rung  # every sale once, none lost or doubled
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert index == visible, (len(index), len(visible))


def _outbox(url: str) -> int:
    with sql(url) as connection:
        return connection.execute("select count(*) from search_outbox").fetchone()[0]


def _index_and_database(env: dict) -> tuple[set[int], set[int]]:
    """The ids in the search index (which is then deleted), and the products that should be."""
    from storefront.indexing import services

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "TESTING": True,
                      "SEARCH_BACKEND": "meilisearch", "MEILI_URL": env["MEILI_URL"],
                      "MEILI_MASTER_KEY": env["MEILI_MASTER_KEY"],
                      "MEILI_INDEX_PREFIX": env["MEILI_INDEX_PREFIX"]})
    with app.app_context():
        index = services.backend()
        admin = index._admin()
        documents = admin.http.get(f"indexes/{index.uid}/documents?limit=100000&fields=id")
        visible = {doc.id for batch in services.visible_document_batches() for doc in batch}
        admin.wait_for_task(admin.delete_index(index.uid).task_uid)
        db.session.remove()
        db.engine.dispose()
    return {document["id"] for document in documents["results"]}, visible
