"""A mixed load on loopback, PostgreSQL behind: the highest rate held with 0 errors, then 5 minutes of it.

    .venv/bin/python bench/load.py [--seconds 300] [--rates 10,20,30,45,60,80,100]
        [--step-seconds 15] [--workers 2] [--threads 4] [--products 400] [--shops 40]
        [--database-url postgresql+psycopg://root@127.0.0.1:5432/test] [--keep-logs]

    quick smoke run: .venv/bin/python bench/load.py --seconds 20 --rates 5,10 --step-seconds 5

The issue's load benchmark (issue 8). Setup is bench/checkout.py's, with its helpers: a
PostgreSQL schema of its own, ``flask db upgrade``, ``flask seed-demo`` (with its fair),
``flask search-reindex``, large stocks, the sandbox gateway and Gerai under gunicorn
(gthread; SANDBOX_MOUNT=0, WORKER_THREAD=0, rate limiter off: every client here comes
from 127.0.0.1).

Visitors arrive at a fixed rate (Poisson arrivals, open loop: a slow server does not
slow the arrivals down), each doing one thing:

* browse (70%): the home page, a catalogue page (1-5), a product page, a shop page
  or a fair stand page: one GET;
* search (20%): the catalogue's results fragment as the search box asks for it
  (HX-Request, HX-Target: hasil): a word, often misspelt, often with a filter
  (kecamatan, shop type, price band, in stock, sort);
* checkout (10%): checkout.Shopper's whole checkout through the sandbox's hosted
  page, from the first "add to cart" until the receipt says LUNAS (10-15 requests).

An error is a non-2xx/3xx answer, a failed or timed-out request, a checkout that
breaks or is not paid within 30 s. A rate is held when it has 0 errors, the visits
it started were done by the end of the step (within 3 s), the p99 of browse and
search stays under 1 s, and their p95 in the step's second half is not more than
twice that of its first half (and over 250 ms): a queue that grows.

1. The step-up: each rate of ``--rates`` for ``--step-seconds``, lowest first,
   until one is not held.
2. The full run: the highest rate held, for ``--seconds``: p50/p95/p99 of each kind
   and of all of them, errors by kind and what they were, and the resident memory
   (RSS) of each process (the gunicorn masters, Gerai's workers, the sandbox's) at
   its start and end, with the growth (target: at most 20%). The sandbox keeps every
   session and event it made in memory, as a gateway's records: it grows with the
   payments it takes.

Prints figures and whether each target is met; exits non-zero only when something is
broken (a server does not start, setup fails), never for a missed target. Every
process it starts is stopped and the schema dropped, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH)]

from _loadgen import percentiles  # noqa: E402
from checkout import (
    HOST,
    PAID_WITHIN_S,
    REQUEST_TIMEOUT,
    Broken,
    Connection,
    Product,
    Shopper,
    bench_servers_env,
    clean_up,
    connect,
    create_schema,
    cuts,
    flask_cli,
    prepare_catalogue,
    print_log_errors,
    print_machine,  # noqa: E402
    proc_table,
    start_gerai,
    start_sandbox,
    verdict,
)

KINDS = ("browse", "search", "checkout")
SHARES = (0.70, 0.20, 0.10)
HELD_P99_MS = 1000.0  # browse and search
DRAIN_S = 3.0  # visits started in a step must be done this long after it
GROWING, GROWING_FLOOR_MS = 2.0, 250.0  # a second half's p95 this much worse: a growing queue
SETTLE_S = 10.0  # after the step-up, before the full run: the servers drain what was left
MEMORY_GROWTH_TARGET = 0.20
WORDS = ("keripik", "kopi", "sambal", "batik", "madu", "dodol", "kerupuk", "rendang", "teh",
         "tas", "sabun", "kue", "abon", "emping", "gula aren", "kopi robusta", "keripik pedas")
KECAMATAN = ("Cipondoh", "Karawaci", "Tangerang", "Ciledug", "Benda", "Pinang", "Cibodas")


# --- what a visitor does ----------------------------------------------------------------

def misspell(word: str, rng: random.Random) -> str:
    """A thumb's slip: a letter dropped, doubled or swapped with the next one."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return rng.choice((word[:i] + word[i + 1:], word[:i] + word[i] + word[i:],
                       word[:i] + word[i + 1] + word[i] + word[i + 2:]))


def search_path(rng: random.Random) -> str:
    word = rng.choice(WORDS)
    params = {"q": misspell(word, rng) if rng.random() < 0.5 else word}
    for name, values, odds in (("kecamatan", KECAMATAN, 0.3), ("jenis", ("umkm", "koperasi"), 0.2),
                               ("harga", ("0-25000", "25000-50000", "50000-100000"), 0.3),
                               ("stok", ("1",), 0.2), ("urut", ("termurah", "terbaru"), 0.2)):
        if rng.random() < odds:
            params[name] = rng.choice(values)
    return "/katalog?" + urlencode(params)


@dataclass
class Site:
    """The addresses a visitor browses, from the seeded database."""
    products: list[str]
    shops: list[str]
    stands: list[str]

    def browse_path(self, rng: random.Random) -> str:
        pick = rng.random()
        if pick < 0.15:
            return "/"
        if pick < 0.35:
            return f"/katalog?hal={rng.randint(1, 5)}" if rng.random() < 0.7 else "/katalog"
        if pick < 0.70:
            return rng.choice(self.products)
        if pick < 0.90:
            return rng.choice(self.shops)
        return rng.choice(self.stands)


def load_site(url: str, schema: str) -> Site:
    with connect(url, schema) as db:
        products = [f"/produk/{pid}/{slug}" for pid, slug in db.execute("""
            select p.id, p.slug from product p join shop s on s.id = p.shop_id
            where p.status = 'active' and s.status = 'verified' order by p.id""")]
        shops = [f"/toko/{slug}" for (slug,) in db.execute(
            "select slug from shop where status = 'verified' order by id")]
        stands = [f"/pameran/{fair}/{code}" for fair, code in db.execute("""
            select f.slug, s.code from stand s join fair f on f.id = s.fair_id
            where s.shop_id is not null order by s.id""")]
    if not (products and shops and stands):
        raise SystemExit(f"seeding left {len(products)} products, {len(shops)} shops and "
                         f"{len(stands)} stands with a shop: nothing to browse")
    return Site(products, shops, stands)


# --- the load ---------------------------------------------------------------------------

@dataclass
class Tally:
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    quick: list[tuple[float, float]] = field(default_factory=list)  # browse/search: (began, ms)
    errors: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    started: Counter = field(default_factory=Counter)
    late: int = 0  # visits not done DRAIN_S after the step ended

    def error_count(self) -> int:
        return sum(sum(c.values()) for c in self.errors.values())


class Pages:
    """Idle keep-alive connections for one-request visits, as many as are needed."""

    def __init__(self, port: int):
        self.port = port
        self.idle: list[Connection] = []

    async def get(self, path: str, headers: dict | None = None) -> int:
        connection = self.idle.pop() if self.idle else Connection(HOST, self.port)
        try:
            response = await asyncio.wait_for(connection.request("GET", path, headers=headers),
                                              REQUEST_TIMEOUT)
        except BaseException:
            connection.drop()
            raise
        connection.cookies.clear()  # a page visit is anonymous; a cart cookie stays out
        self.idle.append(connection)
        return response.status


async def visit(kind: str, rng: random.Random, site: Site, pages: Pages, products: list[Product],
                number: int, port: int, tally: Tally) -> None:
    began = time.perf_counter()
    try:
        if kind == "checkout":
            shopper = Shopper(number, port)
            try:
                picks = [(p, rng.randint(1, 2)) for p in rng.sample(products, rng.randint(1, 2))]
                await shopper.checkout(picks)
            finally:
                shopper.reset()
        else:
            if kind == "browse":
                status = await pages.get(site.browse_path(rng))
            else:
                status = await pages.get(search_path(rng),
                                         {"HX-Request": "true", "HX-Target": "hasil"})
            if not 200 <= status < 400:
                raise Broken(kind, str(status))
    except Broken as error:
        tally.errors[kind][f"{error.step}: {error.what}"] += 1
        return
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as error:
        tally.errors[kind][type(error).__name__] += 1
        return
    took = (time.perf_counter() - began) * 1000
    tally.ms[kind].append(took)
    if kind != "checkout":
        tally.quick.append((began, took))


async def run_load(rate: float, seconds: float, site: Site, products: list[Product], port: int,
                   seed: int) -> Tally:
    """Poisson arrivals at ``rate`` a second for ``seconds``; waits DRAIN_S for stragglers."""
    rng = random.Random(seed)
    tally, pages = Tally(), Pages(port)
    tasks: set[asyncio.Task] = set()
    start = time.perf_counter()
    at, number = start, 0
    while True:
        at += rng.expovariate(rate)
        if at - start >= seconds:
            break
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        kind = rng.choices(KINDS, SHARES)[0]
        number += 1
        tally.started[kind] += 1
        task = asyncio.create_task(visit(kind, random.Random(rng.random()), site, pages,
                                         products, seed * 1_000_000 + number, port, tally))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=DRAIN_S)
        tally.late = len(pending)
        if pending:  # counted late; a checkout still gets its 30 s to be paid
            await asyncio.wait(pending, timeout=PAID_WITHIN_S)
            for task in pending:
                task.cancel()
    for connection in pages.idle:
        connection.drop()
    return tally


def held(tally: Tally) -> tuple[bool, str]:
    quick = sorted(tally.quick)
    p99 = percentiles([ms for _, ms in quick])["p99"]
    half = len(quick) // 2
    early = percentiles([ms for _, ms in quick[:half]])["p95"] or 0.0
    late = percentiles([ms for _, ms in quick[half:]])["p95"] or 0.0
    if tally.error_count():
        return False, f"{tally.error_count()} errors"
    if tally.late:
        return False, f"{tally.late} visits not done {DRAIN_S:g} s after the end"
    if p99 is None or p99 >= HELD_P99_MS:
        return False, f"browse+search p99 {p99 or 0:.0f} ms >= {HELD_P99_MS:g} ms"
    if late > max(GROWING * early, GROWING_FLOOR_MS):
        return False, f"a queue grows: browse+search p95 {early:.0f} ms in the first half, " \
                      f"{late:.0f} ms in the second"
    return True, f"browse+search p99 {p99:.0f} ms; p95 {early:.0f} -> {late:.0f} ms"


# --- memory -------------------------------------------------------------------------------

def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def processes(gerai: int, sandbox: int) -> dict[str, int]:
    """name -> pid: each gunicorn master and its workers."""
    table = proc_table()
    named = {"gerai master": gerai, "sandbox master": sandbox}
    for root, name in ((gerai, "gerai worker"), (sandbox, "sandbox worker")):
        children = sorted(pid for pid, (parent, _) in table.items() if parent == root)
        for n, pid in enumerate(children, 1):
            named[f"{name} {n}"] = pid
    return named


# --- printing -----------------------------------------------------------------------------

def print_step(rate: float, seconds: float, tally: Tally, ok: bool, why: str) -> None:
    done = sum(len(v) for v in tally.ms.values())
    print(f"  {rate:6.1f}/s  {done / seconds:6.1f}/s done  browse p95 "
          f"{(percentiles(tally.ms['browse'])['p95'] or 0):6.0f} ms  search p95 "
          f"{(percentiles(tally.ms['search'])['p95'] or 0):6.0f} ms  checkout p95 "
          f"{(percentiles(tally.ms['checkout'])['p95'] or 0):6.0f} ms  errors "
          f"{tally.error_count():3d}   {'held' if ok else 'NOT held'} ({why})")


def print_full(rate: float, seconds: float, tally: Tally) -> None:
    print(f"\n(2) Full run at {rate:g}/s for {seconds:g} s")
    everything = [v for kind in KINDS for v in tally.ms[kind]]
    for kind in KINDS:
        print(f"  {kind:<9} {len(tally.ms[kind]):6d} done of {tally.started[kind]:6d}  "
              f"{cuts(tally.ms[kind])} ms   errors {sum(tally.errors[kind].values())}")
    print(f"  {'all':<9} {len(everything):6d} done of {sum(tally.started.values()):6d}  "
          f"{cuts(everything)} ms   errors {tally.error_count()}")
    print("  (a checkout is timed from its first request until its receipt says LUNAS)")
    for kind, counts in tally.errors.items():
        for what, n in counts.most_common(5):
            print(f"  !! {kind}: {what} x{n}")
    if tally.late:
        print(f"  {tally.late} visits were not done {DRAIN_S:g} s after the end")


def print_memory(before: dict[str, int], pids_before: dict[str, int],
                 after: dict[str, int], pids_after: dict[str, int]) -> bool:
    print("\n  resident memory (RSS)       start        end    growth")
    worst = 0.0
    for name in sorted(set(before) | set(after)):
        first, last = before.get(name), after.get(name)
        if first is None or last is None or pids_before.get(name) != pids_after.get(name):
            print(f"  {name:<22} {'-' if first is None else f'{first / 1024:7.1f} MiB':>12} "
                  f"{'-' if last is None else f'{last / 1024:7.1f} MiB':>12}   (another process: "
                  "restarted by its master)")
            continue
        growth = (last - first) / first
        worst = max(worst, growth)
        over = f"   over {MEMORY_GROWTH_TARGET:.0%}" if growth > MEMORY_GROWTH_TARGET else ""
        print(f"  {name:<22} {first / 1024:7.1f} MiB {last / 1024:7.1f} MiB   {growth:+7.1%}{over}")
    return worst <= MEMORY_GROWTH_TARGET


# --- main -------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="the full run")
    parser.add_argument("--rates", default="10,20,30,45,60,80,100,130",
                        help="visits a second to try, lowest first")
    parser.add_argument("--step-seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2, help="Gerai's gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per Gerai worker")
    parser.add_argument("--sandbox-threads", type=int, default=8)
    parser.add_argument("--products", type=int, default=400, help="seed-demo --products")
    parser.add_argument("--shops", type=int, default=40, help="seed-demo --shops")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"))
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    rates = sorted(float(r) for r in args.rates.split(","))
    if not rates or rates[0] <= 0 or args.seconds <= 0 or args.step_seconds <= 0:
        parser.error("--rates, --seconds and --step-seconds must be positive")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    schema = f"gerai_bench_{os.getpid()}"
    print(f"Gerai mixed load: browse {SHARES[0]:.0%}, search {SHARES[1]:.0%}, checkout "
          f"{SHARES[2]:.0%}; step-up over {', '.join(f'{r:g}' for r in rates)}/s "
          f"({args.step_seconds:g} s each), then {args.seconds:g} s at the best; "
          f"PostgreSQL schema {schema}")
    print_machine()

    create_schema(args.database_url, schema)
    scratch = Path(tempfile.mkdtemp(prefix="gerai-bench-load-"))
    gerai = sandbox = None
    try:
        env, gerai_port, sandbox_port, hook = bench_servers_env(args.database_url, schema, scratch)
        print(f"\nSetup (scratch folder {scratch})")
        for step in (("db", "upgrade"),
                     ("seed-demo", "--products", str(args.products), "--shops", str(args.shops)),
                     ("search-reindex",)):
            took = flask_cli(env, scratch / "setup.log", *step)
            print(f"  flask {' '.join(step):<40} {took:6.1f} s")
        products, _, _ = prepare_catalogue(args.database_url, schema)
        site = load_site(args.database_url, schema)
        print(f"  {len(site.products)} product pages, {len(site.shops)} shop pages, "
              f"{len(site.stands)} stand pages; {len(products)} products to buy")

        sandbox = start_sandbox(env, scratch, sandbox_port, hook, args.sandbox_threads)
        gerai = start_gerai(env, scratch, gerai_port, args.workers, args.threads)
        print(f"\nServers (all on {HOST}): Gerai :{gerai_port} gunicorn -k gthread -w "
              f"{args.workers} --threads {args.threads}; sandbox :{sandbox_port} -w 1 --threads "
              f"{args.sandbox_threads}; visitors: asyncio in this process")

        print(f"\n(1) Step-up: held = 0 errors, every visit done within {DRAIN_S:g} s of the "
              f"step's end, browse+search p99 < {HELD_P99_MS:g} ms and their p95 not "
              f"{GROWING:g}x worse (and > {GROWING_FLOOR_MS:g} ms) in the second half")
        best = None
        for n, rate in enumerate(rates):
            tally = asyncio.run(run_load(rate, args.step_seconds, site, products, gerai_port,
                                         args.seed + n))
            ok, why = held(tally)
            print_step(rate, args.step_seconds, tally, ok, why)
            if not ok:
                break
            best = rate
        if best is None:
            best = rates[0]
            print(f"  no rate was held: the full run goes at the lowest, {best:g}/s")
        elif best == rates[-1]:
            print(f"  every rate was held: {best:g}/s is a floor, not the ceiling (add higher "
                  "--rates)")

        time.sleep(SETTLE_S)
        named = processes(gerai.pid, sandbox.pid)
        before = {name: rss_kib(pid) for name, pid in named.items()}
        tally = asyncio.run(run_load(best, args.seconds, site, products, gerai_port,
                                     args.seed + 100))
        named_after = processes(gerai.pid, sandbox.pid)
        after = {name: rss_kib(pid) for name, pid in named_after.items()}
        print_full(best, args.seconds, tally)
        full_ok, full_why = held(tally)
        memory_ok = print_memory({k: v for k, v in before.items() if v},
                                 named, {k: v for k, v in after.items() if v}, named_after)

        everything = [v for kind in KINDS for v in tally.ms[kind]]
        c = percentiles(everything)
        print("\nSummary")
        rows = [
            ("highest rate held in the step-up, visits/s", f"{best:g}/s", ""),
            ("the same rate held over the full run", "", verdict(full_ok)),
            ("p95 / p99, all kinds",
             f"{c['p95'] or 0:.0f} / {c['p99'] or 0:.0f} ms", ""),
            ("errors in the full run (target 0)", str(tally.error_count()),
             verdict(not tally.error_count())),
            (f"memory growth of each process <= {MEMORY_GROWTH_TARGET:.0%}", "",
             verdict(memory_ok)),
        ]
        for what, figure, met in rows:
            print(f"  {what:<46}{figure:>16}   {met}")
        print(f"  full run: {full_why}")
        print("  load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        print_log_errors(scratch)
    finally:
        clean_up([gerai, sandbox], args.database_url, schema, scratch, args.keep_logs)


if __name__ == "__main__":
    main()
