"""Catalogue search through the JSON API, against the bare endpoint of the same app.

    .venv/bin/python bench/api.py [--products 100000] [--seconds 20] [--connections 8]
                                  [--workers 2] [--keep] [--scratch DIR] [--shops N]

The same scratch instance, server and load generator as bench/catalogue.py (and the same
--scratch directories: a seeded one is reused). Measured in one run:

1. ``/sehat``, a bare endpoint of the same app: the ceiling;
2. ``GET /api/v1/products?q=...``: the catalogue's queries (typed, misspelled, half
   typed), the same few dozen URLs cycled: repeated queries;
3. the same with two facets each, as a client app's filter panel sends them;
4. uncached: every request a query never asked before (each with its own price
   ceiling), so nothing along the way can answer from a cache;
5. for comparison, the catalogue page's results fragment for the queries of (2), and
6. the page's fragment uncached, the queries of (4): what the shared domain services
   (engine, rows) cost the page, so the API's own share of (4) shows.

Prints throughput against the ceiling (target: >= 0.5 x for repeated queries) and p95
server time (``Server-Timing``; target < 15 ms uncached at 100,000 products). Every
answer that is not 2xx is an error: counted, printed, and kept out of throughput.
The app's rate limiter is off in the server (bench/catalogue.py's APP): it is not what
this measures, and every request comes from one address, so the API's per-address
limit for calls without a key would answer 429.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

import catalogue as page_bench  # noqa: E402  (bench/catalogue.py: scratch, server, load)
from catalogue import HX, QUERIES, facet_urls, query_urls  # noqa: E402

RATIO_TARGET = 0.5
SERVER_P95_TARGET_MS = 15.0
UNCACHED_URLS = 20_000


def api_url(page_url: str, **extra) -> str:
    """The API request for a catalogue page URL: the same search in the API's names."""
    args = dict(parse_qsl(urlsplit(page_url).query))
    params = {"q": args.get("q"), "category": args.get("kategori"),
              "kecamatan": args.get("kecamatan"), "shop_type": args.get("jenis"),
              "in_stock": "true" if args.get("stok") else None}
    if band := args.get("harga"):
        low, _, high = band.partition("-")
        params["price_min"] = low
        params["price_max"] = str(int(high) - 1) if high else None  # the API's max is inclusive
    params.update(extra)
    return "/api/v1/products?" + urlencode({k: v for k, v in params.items() if v})


def uncached_urls(count: int, seed: int = 19) -> list[str]:
    rng = random.Random(seed)
    texts = [text for text, _ in QUERIES]
    return [api_url("/katalog?" + urlencode({"q": rng.choice(texts)}),
                    price_max=str(1_000_000 + n)) for n in range(count)]


def uncached_page_urls(count: int, seed: int = 19) -> list[str]:
    rng = random.Random(seed)
    texts = [text for text, _ in QUERIES]
    return ["/katalog?" + urlencode({"q": rng.choice(texts), "max": str(1_000_000 + n)})
            for n in range(count)]


def measure(args, scratch: Path) -> dict:
    env = page_bench.scratch_env(scratch)
    print(f"\nScratch instance: {scratch}")
    if (scratch / page_bench.MARKER).exists():
        print("  already seeded; migrating and checking the index only")
        page_bench.flask_cli(env, "db", "upgrade", timeout=args.seed_timeout)
        page_bench.flask_cli(env, "search-reindex", "--if-stale", timeout=args.seed_timeout)
    else:
        page_bench.seed(scratch, env, args.products, args.shops, args.seed_timeout)
    print(f"\nServer: gunicorn -w {args.workers} \"{page_bench.APP}\"")
    print("  rate limiter off: not what this measures; every request comes from one address, "
          "so the API's per-address limit (API_PUBLIC_RATE) would answer 429")
    server, port = page_bench.start_server(env, args.workers, scratch / "gunicorn.log")
    queries = [api_url(u) for u in query_urls()]
    facets = [api_url(u) for u in facet_urls()]
    uncached = uncached_urls(UNCACHED_URLS)
    results = {}
    try:
        print(f"  answering on http://{page_bench.HOST}:{port}")
        for key, title, urls, headers in (
            ("ceiling", "(1) ceiling: GET /sehat (bare endpoint, same app)", ["/sehat"], {}),
            ("api", f"(2) API search, repeated queries ({len(queries)} URLs cycled)", queries, {}),
            ("api_facets", f"(3) API search, query + two facets ({len(facets)} URLs cycled)",
             facets, {}),
            ("api_uncached", f"(4) API search, uncached (up to {len(uncached):,} distinct URLs, "
             "each asked once)", uncached, {}),
            ("page", "(5) for comparison: the catalogue page's results fragment, the queries "
             "of (2)", query_urls(), HX),
            ("page_uncached", "(6) for comparison: the page's fragment uncached, the queries of "
             "(4)", uncached_page_urls(UNCACHED_URLS), HX),
        ):
            results[key] = page_bench.load(server, port, urls, headers, args)
            page_bench.print_scenario(title, results[key])
            if key.endswith("uncached") and results[key]["requests"] > len(uncached):
                print("  !! more requests than distinct URLs: some were repeated")
    finally:
        page_bench.stop_server(server)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20, help="per scenario")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--shops", type=int, default=None)
    parser.add_argument("--seed-timeout", type=float, default=1800)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--scratch", help="scratch directory; reused when already seeded "
                                          "(bench/catalogue.py's too)")
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    print(f"Gerai API benchmark: {args.products:,} products, {args.seconds:g} s a scenario, "
          f"{args.connections} connections, {args.workers} gunicorn sync workers")
    print(f"Machine: {cores} cores ({platform.machine()}, Python {platform.python_version()}); "
          "server and load generator share them: compare ratios, not absolute figures.")
    print("  load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    scratch, made_here = page_bench.prepare_scratch(args)
    try:
        results = measure(args, scratch)
    finally:
        if made_here and not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        elif made_here:
            print(f"\nScratch kept: {scratch} (reuse it with --scratch {scratch})")

    ceiling = results["ceiling"]["ok_rps"]
    print("\nThroughput against the ceiling (2xx answers a second)")
    ratios = {}
    for key, label in (("api", "API, repeated"), ("api_facets", "API, two facets"),
                       ("api_uncached", "API, uncached"), ("page", "page fragment"),
                       ("page_uncached", "page, uncached")):
        ratios[key] = results[key]["ok_rps"] / ceiling if ceiling else 0.0
        errors = results[key]["errors"] + results["ceiling"]["errors"]
        print(f"  {label:<18}{ratios[key]:6.2f} x  ({results[key]['ok_rps']:.1f} / {ceiling:.1f})"
              + (f"  !! {errors} errors behind this ratio" if errors else ""))
    if results["page"]["ok_rps"]:
        print(f"  API / page fragment, same queries: "
              f"{results['api']['ok_rps'] / results['page']['ok_rps']:.2f} x "
              "(the page shares rendered fragments between shoppers; the API renders each)")

    print("\nSummary" + (f"  [{args.products:,} products; targets are for 100,000]"
                         if args.products != 100_000 else ""))
    for key, label in (("api_uncached", "API"), ("page_uncached", "page")):
        r = results[key]
        cpu = r.get("server_cpu_cores")
        print(f"  {label} uncached: server CPU {cpu * 1000 / r['rps']:.2f} ms a request"
              if cpu is not None and r["rps"] else f"  {label} uncached: server CPU -")
    uncached_p95 = results["api_uncached"]["server_ms"]["p95"]
    repeated_p95 = results["api"]["server_ms"]["p95"]
    rows = [
        (f"API repeated throughput >= {RATIO_TARGET} x /sehat", f"{ratios['api']:.2f} x",
         ratios["api"] >= RATIO_TARGET and not results["api"]["errors"]),
        (f"API uncached p95 server time < {SERVER_P95_TARGET_MS:g} ms",
         f"{page_bench.ms(uncached_p95).strip()} ms",
         uncached_p95 is not None and uncached_p95 < SERVER_P95_TARGET_MS
         and not results["api_uncached"]["errors"]),
        ("API repeated p95 server time", f"{page_bench.ms(repeated_p95).strip()} ms", True),
        ("(page uncached p95 server time, same services)",
         f"{page_bench.ms(results['page_uncached']['server_ms']['p95']).strip()} ms", True),
    ]
    for target, figure, met in rows:
        print(f"  {target:<50}{figure:>12}   {page_bench.verdict(met)}")
    errors = sum(r["errors"] for r in results.values())
    print(f"  {'errors (non-2xx answers, failed requests)':<50}{errors:>12}"
          + ("   NOT MET: figures above include error answers" if errors else "   met"))
    print("  (rate limiter off in the benchmark's server: not measured here)")


if __name__ == "__main__":
    main()
