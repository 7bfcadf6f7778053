"""PostgreSQL stopped and started again under load: a clean 503 meanwhile, then by itself back.

A private PostgreSQL (never the machine's shared one) serves Gerai under gunicorn.
Browsers keep asking for the home page, the catalogue and product pages, and shoppers
keep checking out ("Bayar" commits the purchase and its orders before the gateway's
page). The server is stopped (pg_ctl stop -m fast) for a few seconds and started again.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import pytest

from .harness import bench, prepare_catalogue, private_postgres, run, serve, sql

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

BEFORE_S, GAP_S, AFTER_S = 2.0, 3.0, 6.0
RECOVERY_S = 5.0  # after PostgreSQL is back, requests succeed again within this
SLOWEST_S = 5.0  # no answer in the gap takes longer than this (a refusal, not a hang)
SERVED = {"200", "301"}  # a page, or /produk/<id> sending on to its address with the slug


@dataclass
class Answer:
    at: float
    took: float
    what: str  # the status, or the failure's name
    body: bytes = b""
    retry_after: bytes | None = None


async def browse(port: int, paths: list[str], until: float, answers: list[Answer]) -> None:
    connection = bench.Connection(bench.HOST, port)
    rng = random.Random(port)
    while time.perf_counter() < until:
        began = time.perf_counter()
        try:
            response = await asyncio.wait_for(connection.request("GET", rng.choice(paths)),
                                              SLOWEST_S * 2)
            answers.append(Answer(began, time.perf_counter() - began, str(response.status),
                                  response.body, response.headers.get(b"retry-after")))
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            connection.drop()
            answers.append(Answer(began, time.perf_counter() - began, type(error).__name__))
        await asyncio.sleep(0.05)
    connection.drop()


async def check_out(number: int, port: int, products, until: float, committed: list[str],
                    refused: list[str]) -> None:
    me = bench.Shopper(number, port)
    rng = random.Random(number)
    while time.perf_counter() < until:
        try:
            form = await me.fill_and_review([(rng.choice(products), 1)])
            answer = await me.call("bayar", "POST", "/checkout/bayar", form, expect=(303,))
            if "/pay/" in answer.location:
                committed.append(form["attempt"])  # its purchase and orders are committed
        except bench.Broken as error:
            refused.append(f"{error.step} {error.what}")
            me.reset()
            await asyncio.sleep(0.1)
    me.reset()


async def load(servers, database, products, paths):
    answers: list[Answer] = []
    committed: list[str] = []
    refused: list[str] = []
    started = time.perf_counter()
    until = started + BEFORE_S + GAP_S + AFTER_S
    tasks = [asyncio.create_task(browse(servers.gerai_port, paths, until, answers))
             for _ in range(3)]
    tasks += [asyncio.create_task(check_out(n, servers.gerai_port, products, until, committed,
                                            refused)) for n in range(2)]
    await asyncio.sleep(BEFORE_S)
    await asyncio.to_thread(database.stop, "fast")
    stopped = time.perf_counter()
    await asyncio.sleep(GAP_S)
    await asyncio.to_thread(database.start)
    back = time.perf_counter()
    await asyncio.gather(*tasks)
    return answers, committed, refused, stopped, back


def test_requests_get_503_while_postgres_is_down_and_recover_by_themselves(scratch):
    with private_postgres() as database:
        products = prepare_catalogue(database.url, scratch / "setup-media")
        paths = ["/", "/katalog", "/katalog?kategori=keripik", *(f"/produk/{p.id}" for p in products)]
        with serve(database.url, scratch, workers=2, threads=2, webhooks=False) as servers:
            answers, committed, refused, stopped, back = run(
                load(servers, database, products, paths))
            log = servers.log()
        with sql(database.url) as db:
            stored = {attempt for (attempt,) in db.execute("""
                select p.attempt from purchase p where exists
                (select 1 from "order" o where o.purchase_id = p.id)""")}

    gap = [a for a in answers if stopped <= a.at < back]
    after = [a for a in answers if a.at >= back]
    recovered = min((a.at for a in after if a.what in SERVED), default=None)
    again = f"{recovered - back:.2f}" if recovered else "-"
    print(f"\n{len(answers)} page requests: {len(gap)} in the {back - stopped:.1f} s gap "
          f"({sorted({a.what for a in gap})}); served again {again} s "
          f"after PostgreSQL was back; {len(committed)} purchases committed, "
          f"{len(refused)} checkout steps refused")
    assert gap, "no request fell into the gap"
    trace = log[log.find("Traceback"):][:4000] if "Traceback" in log else ""
    assert {a.what for a in answers} <= SERVED | {"503"}, (sorted({a.what for a in answers}), trace)
    assert any(a.what == "503" for a in gap)
    for answer in (a for a in answers if a.what == "503"):
        assert b"Gerai sedang tidak bisa melayani" in answer.body
        assert answer.retry_after == b"5"
    assert max(a.took for a in gap) < SLOWEST_S
    assert all(step.endswith("503") for step in refused), refused
    assert recovered is not None and recovered - back < RECOVERY_S
    settled = [a for a in after if a.at > recovered + 0.5]
    assert settled and all(a.what in SERVED for a in settled), sorted({a.what for a in settled})
    assert committed and set(committed) <= stored, set(committed) - stored
    assert not trace
