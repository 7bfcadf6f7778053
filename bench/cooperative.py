"""Cooperative members at scale (issue 18): the member page, the manager's live refresh, the
month's bill run and the trial balance over months of history.

Builds the history straight into a scratch database with bulk inserts (members, each
month's simpanan wajib bill paid at the office with its allocation and balanced posting,
a loan for one member in ten with its instalments billed and paid), checks that the books
balance, then measures, in this process, through Flask's test client (no network):

- the member's own page and the manager's live refresh (the poll with nothing new, 204,
  and one with a new posting), p50/p95 wall time per request, beside /sehat as baseline;
- the bill run for the next month for every member of every cooperative (wall time);
- the trial balance of one cooperative, p50/p95.

The issue asks for 100 cooperatives x 1,000 members x 24 months; the default here is
scaled down so it runs in minutes on a laptop (say --coops 100 --members 1000 for the
whole of it, on PostgreSQL with --database). What ran is printed first.

    .venv/bin/python bench/cooperative.py [--coops 10] [--members 200] [--months 24]
        [--requests 200] [--database postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "kopi-tubruk-cisadane"


def month_add(day: date, months: int) -> date:
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, 1)


def build(app, coops: int, members: int, months: int) -> dict:
    """The history, in bulk: returns ids to measure with."""
    from sqlalchemy import insert, select

    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.cooperatives.models import Cooperative, coop_manager
    from storefront.extensions import db
    from storefront.members.models import (
        Allocation,
        Bill,
        CoopMember,
        Instalment,
        Loan,
        MemberBalance,
        MemberPayment,
        Posting,
        PostingLine,
    )
    from storefront.members.schedule import schedule
    from storefront.timeutil import jakarta_day_start, today_in_jakarta

    first = month_add(today_in_jakarta().replace(day=1), -months)
    with app.app_context():
        secret = hash_password(PASSWORD)
        manager = User(name="Ketua", email="ketua@bench.test", password_hash=secret)
        person = User(name="Anggota", email="anggota@bench.test", password_hash=secret)
        manager.roles = [UserRole(role="shopper")]
        person.roles = [UserRole(role="shopper")]
        db.session.add_all([manager, person])
        db.session.flush()
        ids = {"n": dict.fromkeys(("members", "bills", "postings", "lines"), 0)}
        n = ids["n"]
        purchase_id = 0
        for c in range(coops):
            coop = Cooperative(name=f"Koperasi Bench {c}", slug=f"koperasi-bench-{c}",
                               legal_number=f"AHU-BENCH-{c}", kecamatan="Cipondoh",
                               kelurahan="Ketapang")
            db.session.add(coop)
            db.session.flush()
            db.session.execute(insert(coop_manager).values(cooperative_id=coop.id,
                                                           user_id=manager.id))
            base = (db.session.scalar(select(db.func.max(CoopMember.id))) or 0) + 1
            db.session.execute(insert(CoopMember), [
                {"id": base + i, "cooperative_id": coop.id, "number": f"{i + 1:05d}",
                 "name": f"Anggota {c}-{i}", "phone": "", "kelurahan": "Ketapang", "address": "",
                 "joined_on": first, "status": "active",
                 "user_id": person.id if (c == 0 and i == 0) else None} for i in range(members)])
            member_ids = list(range(base, base + members))
            n["members"] += members
            bills, pays, allocs, posts, lines = [], [], [], [], []
            bill_id = (db.session.scalar(select(db.func.max(Bill.id))) or 0)
            pay_id = (db.session.scalar(select(db.func.max(MemberPayment.id))) or 0)
            post_id = (db.session.scalar(select(db.func.max(Posting.id))) or 0)
            balances = {}
            for m in range(months):
                month = month_add(first, m)
                when = jakarta_day_start(month.replace(day=12))
                for member_id in member_ids:
                    bill_id += 1
                    pay_id += 1
                    post_id += 1
                    purchase_id += 1
                    bills.append({"id": bill_id, "cooperative_id": coop.id, "member_id": member_id,
                                  "kind": "simpanan_wajib", "description": f"Simpanan wajib {month:%Y-%m}",
                                  "amount": 25_000, "paid": 25_000, "status": "paid",
                                  "due_on": month.replace(day=10),
                                  "source": f"wajib:{member_id}:{month:%Y-%m}", "created_at": when})
                    pays.append({"id": pay_id, "cooperative_id": coop.id, "member_id": member_id,
                                 "purchase_id": purchase_id, "method": "cash", "amount": 25_000,
                                 "receipt_number": f"KW-B-{pay_id}", "allocated_at": when,
                                 "to_savings": 0, "created_at": when})
                    allocs.append({"payment_id": pay_id, "bill_id": bill_id, "amount": 25_000})
                    posts.append({"id": post_id, "cooperative_id": coop.id,
                                  "source": f"bayar:{pay_id}", "memo": f"Pembayaran KW-B-{pay_id}",
                                  "member_id": member_id, "posted_at": when})
                    lines += [{"posting_id": post_id, "cooperative_id": coop.id, "account": "kas",
                               "debit": 25_000, "credit": 0},
                              {"posting_id": post_id, "cooperative_id": coop.id,
                               "account": "simpanan_wajib", "member_id": member_id, "debit": 0,
                               "credit": 25_000}]
                    key = (member_id, "simpanan_wajib")
                    balances[key] = balances.get(key, 0) + 25_000
            # one member in ten borrowed at the start: instalments billed and paid each month
            for member_id in member_ids[::10]:
                loan = Loan(cooperative_id=coop.id, member_id=member_id, amount=2_400_000,
                            term_months=24, purpose="modal", method="declining", rate_bp=150,
                            late_fee=10_000, status="disbursed", disbursed_on=first,
                            disbursed_via="cash")
                db.session.add(loan)
                db.session.flush()
                post_id += 1
                posts.append({"id": post_id, "cooperative_id": coop.id, "source": f"cair:{loan.id}",
                              "memo": f"Pencairan #{loan.id}", "member_id": member_id,
                              "posted_at": jakarta_day_start(first)})
                lines += [{"posting_id": post_id, "cooperative_id": coop.id,
                           "account": "piutang_pinjaman", "member_id": member_id,
                           "loan_id": loan.id, "debit": 2_400_000, "credit": 0},
                          {"posting_id": post_id, "cooperative_id": coop.id, "account": "kas",
                           "debit": 0, "credit": 2_400_000}]
                rows = schedule(2_400_000, 24, 150, "declining", first, 10)
                owed = 2_400_000
                for row in rows:
                    due_paid = row.due_on < today_in_jakarta().replace(day=1)
                    db.session.add(Instalment(loan_id=loan.id, number=row.number,
                                              due_on=row.due_on, principal=row.principal,
                                              interest=row.interest, billed=due_paid))
                    if not due_paid:
                        continue
                    when = jakarta_day_start(row.due_on)
                    pay_id += 1
                    post_id += 1
                    purchase_id += 1
                    pays.append({"id": pay_id, "cooperative_id": coop.id, "member_id": member_id,
                                 "purchase_id": purchase_id, "method": "cash",
                                 "amount": row.total, "receipt_number": f"KW-B-{pay_id}",
                                 "allocated_at": when, "to_savings": 0, "created_at": when})
                    posts.append({"id": post_id, "cooperative_id": coop.id,
                                  "source": f"bayar:{pay_id}", "memo": f"Pembayaran KW-B-{pay_id}",
                                  "member_id": member_id, "posted_at": when})
                    lines.append({"posting_id": post_id, "cooperative_id": coop.id,
                                  "account": "kas", "debit": row.total, "credit": 0})
                    for kind, amount, account in (("angsuran_jasa", row.interest, "pendapatan_jasa"),
                                                  ("angsuran_pokok", row.principal,
                                                   "piutang_pinjaman")):
                        bill_id += 1
                        bills.append({"id": bill_id, "cooperative_id": coop.id,
                                      "member_id": member_id, "kind": kind,
                                      "description": f"{kind} #{loan.id} {row.number}/24",
                                      "amount": amount, "paid": amount, "status": "paid",
                                      "due_on": row.due_on, "loan_id": loan.id,
                                      "source": f"{kind}:bench:{loan.id}:{row.number}",
                                      "created_at": when})
                        allocs.append({"payment_id": pay_id, "bill_id": bill_id, "amount": amount})
                        lines.append({"posting_id": post_id, "cooperative_id": coop.id,
                                      "account": account, "member_id": member_id,
                                      "loan_id": loan.id, "debit": 0, "credit": amount})
                    owed -= row.principal
                balances[(member_id, "piutang_pinjaman")] = owed
            _purchases(db, pays, coop.id)
            for table, rows in ((Bill, bills), (MemberPayment, pays), (Allocation, allocs),
                                (Posting, posts), (PostingLine, lines)):
                for start in range(0, len(rows), 5_000):
                    db.session.execute(insert(table), rows[start:start + 5_000])
            db.session.execute(insert(MemberBalance), [
                {"member_id": m, "account": a, "balance": b} for (m, a), b in balances.items()])
            db.session.commit()
            n["bills"] += len(bills)
            n["postings"] += len(posts)
            n["lines"] += len(lines)
            if c == 0:
                ids["coop"], ids["slug"], ids["member"] = coop.id, coop.slug, member_ids[0]
        _sequences(db)
    return ids


def _purchases(db, pays: list[dict], coop_id: int) -> None:
    """Each office payment is a settled cash purchase, as record_cash makes it."""
    from sqlalchemy import insert

    from storefront.checkout.models import Purchase

    rows = [{"id": p["purchase_id"], "code": f"KT-B-{p['purchase_id']}",
             "attempt": f"bench-{p['purchase_id']}", "buyer_name": "Anggota",
             "buyer_whatsapp": "-", "total": p["amount"], "status": "paid", "gateway": "cash",
             "payment_id": f"cash_bench_{p['purchase_id']}", "expires_at": p["created_at"],
             "paid_at": p["created_at"], "created_at": p["created_at"],
             "updated_at": p["created_at"]} for p in pays]
    for start in range(0, len(rows), 5_000):
        db.session.execute(insert(Purchase), rows[start:start + 5_000])


def _sequences(db) -> None:
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        return
    for table in ("coop_member", "bill", "member_payment", "posting", "posting_line",
                  "allocation", "purchase"):
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                f'(SELECT max(id) FROM "{table}"))'))
    db.session.commit()


def timings(client, url: str, n: int, **kwargs) -> tuple[float, float, int]:
    for _ in range(5):
        client.get(url, **kwargs)
    samples, status = [], 0
    for _ in range(n):
        started = time.perf_counter()
        status = client.get(url, **kwargs).status_code
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coops", type=int, default=10)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", default="")
    args = parser.parse_args()

    from sqlalchemy import select

    from storefront import create_app
    from storefront.extensions import db
    from storefront.members import books, services
    from storefront.members.models import Posting
    from storefront.timeutil import today_in_jakarta
    from tests.conftest import IsolatedClient
    from tests.helpers import csrf_token

    folder = Path(tempfile.mkdtemp(prefix="gerai-coop-bench-"))
    url = args.database or f"sqlite:///{folder / 'gerai.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MEDIA_ROOT": str(folder / "media"),
                      "SEARCH_INDEX_PATH": "", "RATELIMIT_ENABLED": False,
                      "WORKER_THREAD": False, "SANDBOX_MOUNT": False,
                      "XENDIT_SANDBOX_MOUNT": False, "SECRET_KEY": "bench", "QRIS_GATEWAY": "",
                      "WTF_CSRF_SSL_STRICT": False, "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1})
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.drop_all()
        db.create_all()
    print(f"ran: {args.coops} cooperatives x {args.members} members x {args.months} months "
          f"on {url.split(':')[0]}"
          f" ({args.requests} requests a figure; the issue's scale is 100 x 1,000 x 24)")
    started = time.perf_counter()
    ids = build(app, args.coops, args.members, args.months)
    n = ids["n"]
    print(f"built in {time.perf_counter() - started:.1f} s: {n['members']:,} members, "
          f"{n['bills']:,} bills, {n['postings']:,} postings, {n['lines']:,} posting lines")
    with app.app_context():
        started = time.perf_counter()
        problems = books.check()
        print(f"books-check: {'seimbang' if not problems else problems[:3]} "
              f"in {time.perf_counter() - started:.1f} s")

    member = app.test_client()
    member.post("/masuk", data={"email": "anggota@bench.test", "password": PASSWORD,
                                "csrf_token": csrf_token(member, "/masuk")})
    manager = app.test_client()
    manager.post("/masuk", data={"email": "ketua@bench.test", "password": PASSWORD,
                                 "csrf_token": csrf_token(manager, "/masuk")})
    with app.app_context():
        last = db.session.scalar(select(db.func.max(Posting.id)).where(
            Posting.cooperative_id == ids["coop"]))
    poll = {"HX-Request": "true", "HX-Target": "poller"}
    rows = [("/sehat (baseline)", *timings(member, "/sehat", args.requests)),
            ("/keranjang (a small page, baseline)", *timings(member, "/keranjang",
                                                             args.requests))]
    rows.append(("member page /anggota/<id>",
                 *timings(member, f"/anggota/{ids['member']}", args.requests)))
    rows.append(("member live poll, nothing new",
                 *timings(member, f"/anggota/{ids['member']}/baru?setelah={last}",
                          args.requests, headers=poll)))
    rows.append(("manager live poll, nothing new",
                 *timings(manager, f"/koperasi/{ids['slug']}/buku/baru?setelah={last}",
                          args.requests, headers=poll)))
    rows.append(("manager live poll, 1 new posting",
                 *timings(manager, f"/koperasi/{ids['slug']}/buku/baru?setelah={last - 1}",
                          args.requests, headers=poll)))
    rows.append(("manager books page (trial balance + list)",
                 *timings(manager, f"/koperasi/{ids['slug']}/buku", max(20, args.requests // 4))))
    with app.app_context():
        samples = []
        for _ in range(max(20, args.requests // 4)):
            started = time.perf_counter()
            books.trial_balance(ids["coop"])
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        rows.append(("trial balance, one cooperative", statistics.median(samples),
                     samples[int(len(samples) * 0.95) - 1], 0))
    print(f"{'what':44} {'p50 ms':>8} {'p95 ms':>8}  status")
    for name, p50, p95, status in rows:
        print(f"{name:44} {p50:8.1f} {p95:8.1f}  {status or ''}")
    with app.app_context():
        next_month = (today_in_jakarta().replace(day=1) + timedelta(days=32)).replace(day=1)
        started = time.perf_counter()
        made = services.RunResult()
        from storefront.cooperatives.models import Cooperative

        for coop_id in db.session.scalars(select(Cooperative.id)).all():
            result = services.bill_run(coop_id, next_month)
            db.session.commit()
            made.wajib += result.wajib
            made.instalments += result.instalments
        took = time.perf_counter() - started
        print(f"bill run {next_month:%Y-%m} for all {n['members']:,} members: {took:.1f} s "
              f"({made.wajib:,} wajib bills, {made.instalments:,} instalments; "
              f"{took / max(n['members'], 1) * 1_000_000:.0f} µs a member)")


if __name__ == "__main__":
    main()
