"""A web worker killed (SIGKILL) while shoppers' payments are in flight loses no money.

Gerai runs under gunicorn (2 gthread workers of 2 threads) on a PostgreSQL schema of
its own; the sandbox gateway is a server of its own whose "create a payment page"
answers take a second to come back. Eight shoppers check out through the hosted page
over and over; a third of them close the tab right after paying. When both threads
of one worker wait on those answers (the test finds the worker by the client port of
each answer in flight), that worker is killed with SIGKILL and the gateway's webhooks stop getting through. The
master starts a new worker; browsers send a request that got no answer at all once
more on a new connection, as browsers do. Afterwards the reconciler runs and the
gateway sends every "paid" event again.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter

import pytest
import requests

from .harness import (
    STOCK,
    bench,
    owners_of_ports,
    prepare_catalogue,
    run,
    serve,
    shared_schema,
    sql,
)

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

SHOPPERS = 8
GATEWAY_DELAY_S = 1.0
RUN_S = 7.0  # checkouts start until then; the kill comes after the first second
SANDBOX_KEY = {"Authorization": "Bearer sk_test_sandbox"}


async def shop(number: int, port: int, products: list[bench.Product], until: float,
               paid: list[str], broken: list[str]) -> None:
    rng = random.Random(number)
    me = bench.Shopper(number, port)
    leaves_after_paying = number % 3 == 0
    while time.perf_counter() < until:
        picks = [(p, rng.randint(1, 2)) for p in rng.sample(products, rng.randint(1, 2))]
        try:
            form = await me.fill_and_review(picks)
            answer = await me.call("bayar", "POST", "/checkout/bayar", form, expect=(303,))
            receipt = await me.pay_hosted(answer.location)
            if not leaves_after_paying:
                await me.wait_paid(receipt, time.perf_counter() + bench.PAID_WITHIN_S)
            paid.append(receipt.rsplit("/", 1)[-1])
        except bench.Broken as error:
            broken.append(f"shopper {number} {error}")
            me.reset()  # a browser that got an error page starts again
            await asyncio.sleep(0.2)
    me.reset()


async def kill_a_worker_mid_payment(servers, started: float) -> tuple[int, int]:
    """SIGKILL a worker whose threads wait on gateway answers (both, if that moment comes
    before the last second; on a busy CI machine it may not); webhooks stop too."""
    deadline = started + RUN_S - 1
    while True:
        waiting = Counter(owners_of_ports(list(servers.slow.in_flight), servers.workers()))
        victim, in_flight = (waiting.most_common(1) or [(None, 0)])[0]
        if time.perf_counter() - started > 1.0 and in_flight >= 2:
            break
        if time.perf_counter() > deadline and in_flight >= 1:
            break
        if time.perf_counter() > deadline + 2:
            pytest.fail("no worker ever waited on a payment: no moment to kill one")
        await asyncio.sleep(0.02)
    os.kill(victim, signal.SIGKILL)
    await asyncio.to_thread(requests.post, f"{servers.sandbox.url}/_sandbox/webhooks/off",
                            headers=SANDBOX_KEY, timeout=5)
    return victim, in_flight


async def load(servers, products):
    paid: list[str] = []
    broken: list[str] = []
    started = time.perf_counter()
    shoppers = [shop(n, servers.gerai_port, products, started + RUN_S, paid, broken)
                for n in range(SHOPPERS)]
    killed, *_ = await asyncio.gather(kill_a_worker_mid_payment(servers, started), *shoppers)
    return killed, paid, broken


def paid_sessions(sandbox_url: str) -> list[dict]:
    """Every checkout session the gateway took money for, from its events."""
    events, after = [], None
    while True:
        params = {"limit": 100, "type": "checkout.session.completed"}
        if after:
            params["starting_after"] = after
        page = requests.get(f"{sandbox_url}/v1/events", params=params, headers=SANDBOX_KEY,
                            timeout=5).json()
        events += page["data"]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    return [e for e in events if e["data"]["object"]["payment_status"] == "paid"]


def test_every_payment_taken_ends_paid_once_after_a_worker_is_killed(scratch):
    with shared_schema("kill") as url:
        products = prepare_catalogue(url, scratch / "setup-media")
        with serve(url, scratch, workers=2, threads=2, gateway_delay=GATEWAY_DELAY_S) as servers:
            (victim, in_flight), seen_paid, broken = run(load(servers, products))
            assert victim not in servers.workers(), "the killed worker is still there"

            reconciled = servers.flask("payments-reconcile", "--older-than", "0")
            assert reconciled.returncode == 0, reconciled.stderr
            requests.post(f"{servers.sandbox.url}/_sandbox/webhooks/on", headers=SANDBOX_KEY,
                          timeout=5)
            events = paid_sessions(servers.sandbox.url)
            for event in events:  # the gateway delivers what it had pending, twice at worst
                requests.post(f"{servers.sandbox.url}/_sandbox/events/{event['id']}/resend",
                              headers=SANDBOX_KEY, timeout=10).raise_for_status()
            checked = servers.flask("ledger-check")
            log = servers.log()

        taken = [e["data"]["object"]["client_reference_id"] for e in events]
        with sql(url) as db:
            purchases = dict(db.execute("select code, status from purchase").fetchall())
            unpaid_orders = db.execute("""
                select p.code, o.code, o.status from purchase p
                join "order" o on o.purchase_id = p.id
                where p.status = 'paid' and (o.paid_at is null or o.status <> 'new')""").fetchall()
            sale_sets = db.execute("""
                select o.code, p.status, count(distinct ol.id),
                       (select count(*) from ledger_entry e
                        where e.order_id = o.id and e.kind = 'sale')
                from "order" o join purchase p on p.id = o.purchase_id
                join order_line ol on ol.order_id = o.id
                group by o.id, o.code, p.status""").fetchall()
            stock = db.execute("""
                select p.id, p.stock, coalesce((select sum(h.quantity) from stock_hold h
                    where h.product_id = p.id and h.state in ('active', 'consumed')), 0)
                from product p""").fetchall()

    print(f"\nkilled worker {victim} with {in_flight} gateway answers in flight; "
          f"{len(taken)} payments taken, {len(seen_paid)} seen through, "
          f"{len(broken)} checkouts broke; purchases {sorted(purchases.values()).count('paid')} "
          f"paid of {len(purchases)}; reconciler: {reconciled.stdout.strip()}")
    assert in_flight >= 1  # the killed worker was waiting on the gateway
    assert f"(pid:{victim}) was sent SIGKILL" in log, log[-2000:]  # gunicorn saw it die
    assert len(taken) >= 5, f"too few payments to prove anything: {len(taken)}"
    assert len(set(taken)) == len(taken), "a purchase was paid twice at the gateway"
    assert all(purchases.get(code) == "paid" for code in taken), \
        {code: purchases.get(code) for code in taken if purchases.get(code) != "paid"}
    assert {c for c, s in purchases.items() if s == "paid"} == set(taken)
    assert set(seen_paid) <= set(taken)
    assert unpaid_orders == []
    for order, status, lines, sales in sale_sets:
        assert sales == (lines if status == "paid" else 0), (order, status, lines, sales)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for product_id, left, held in stock:
        assert left == STOCK - held, (product_id, left, held)
