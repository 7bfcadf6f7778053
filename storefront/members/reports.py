"""What the cooperative and the city office read: register, member ledger, loans by days
late, the revolving fund, the trial balance, SHU, the health table. Each is a (title,
header, rows) table the page shows and the CSV/XLSX export writes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select

from ..cooperatives.models import Cooperative
from ..extensions import db
from ..params import whole_number
from ..timeutil import jakarta_day_start, today_in_jakarta
from . import books
from .models import Bill, CoopMember, CoopTerms, Loan, MemberBalance, Posting, PostingLine


def register_rows(coop_id: int, query: str = "", limit: int = 200) -> list[CoopMember]:
    conditions = [CoopMember.cooperative_id == coop_id]
    if query:
        like = f"%{query.replace('%', '').replace('_', '')}%"
        conditions.append(or_(CoopMember.name.ilike(like), CoopMember.number.ilike(like),
                              CoopMember.kelurahan.ilike(like)))
    return list(db.session.scalars(select(CoopMember).where(*conditions)
                                   .order_by(CoopMember.number).limit(limit)))


def _balances_by_member(coop_id: int) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for member_id, account, balance in db.session.execute(
            select(MemberBalance.member_id, MemberBalance.account, MemberBalance.balance)
            .join(CoopMember, CoopMember.id == MemberBalance.member_id)
            .where(CoopMember.cooperative_id == coop_id)):
        out.setdefault(member_id, {})[account] = int(balance)
    return out


STATUS_WORDS = {"active": "aktif", "left": "keluar", "deceased": "meninggal"}


def member_ledger(coop_id: int):
    balances = _balances_by_member(coop_id)
    owed = dict(db.session.execute(
        select(Bill.member_id, func.sum(Bill.amount - Bill.paid))
        .where(Bill.cooperative_id == coop_id, Bill.status == "open").group_by(Bill.member_id)).all())
    header = ("nomor", "nama", "status", "simpanan_pokok", "simpanan_wajib",
              "simpanan_sukarela", "sisa_pinjaman", "tagihan_terbuka")
    rows = []
    for m in db.session.scalars(select(CoopMember).where(CoopMember.cooperative_id == coop_id)
                                .order_by(CoopMember.number)):
        held = balances.get(m.id, {})
        rows.append((m.number, m.name, STATUS_WORDS.get(m.status, m.status),
                     held.get("simpanan_pokok", 0),
                     held.get("simpanan_wajib", 0), held.get("simpanan_sukarela", 0),
                     held.get("piutang_pinjaman", 0), int(owed.get(m.id, 0) or 0)))
    return _("Buku anggota"), header, rows


def days_late_bucket(days: int) -> str:
    if days <= 0:
        return "lancar"
    if days <= 30:
        return "1-30"
    if days <= 90:
        return "31-90"
    return ">90"


def loans_table(coop_id: int, today: date | None = None):
    today = today or today_in_jakarta()
    oldest = dict(db.session.execute(
        select(Bill.loan_id, func.min(Bill.due_on))
        .where(Bill.cooperative_id == coop_id, Bill.status == "open",
               Bill.kind.in_(("angsuran_pokok", "angsuran_jasa")))
        .group_by(Bill.loan_id)).all())
    outstanding = dict(db.session.execute(
        select(PostingLine.loan_id, func.sum(PostingLine.debit - PostingLine.credit))
        .where(PostingLine.cooperative_id == coop_id, PostingLine.account == "piutang_pinjaman",
               PostingLine.loan_id.is_not(None)).group_by(PostingLine.loan_id)).all())
    header = ("pinjaman", "nomor_anggota", "nama", "jumlah", "dicairkan", "metode",
              "dana_bergulir", "sisa_pokok", "jatuh_tempo_tertua", "hari_terlambat", "kolektibilitas")
    rows = []
    for loan, number, name in db.session.execute(
            select(Loan, CoopMember.number, CoopMember.name)
            .join(CoopMember, CoopMember.id == Loan.member_id)
            .where(Loan.cooperative_id == coop_id, Loan.status.in_(("disbursed", "repaid")))
            .order_by(Loan.id)):
        due = oldest.get(loan.id)
        late = (today - due).days if due and due < today else 0
        rows.append((loan.id, number, name, loan.amount, loan.disbursed_on, loan.method,
                     "ya" if loan.revolving else "tidak", int(outstanding.get(loan.id, 0) or 0),
                     due, late, days_late_bucket(late)))
    return _("Pinjaman beredar dan tunggakan"), header, rows


def revolving_fund(coop_id: int | None = None) -> dict[str, int]:
    """What loans funded by the city's dana bergulir lent, recovered and have outstanding."""
    conditions = [Loan.revolving.is_(True), Loan.status.in_(("disbursed", "repaid"))]
    if coop_id is not None:
        conditions.append(Loan.cooperative_id == coop_id)
    lent, count = db.session.execute(select(func.coalesce(func.sum(Loan.amount), 0),
                                            func.count(Loan.id)).where(*conditions)).one()
    recovered = db.session.scalar(
        select(func.coalesce(func.sum(PostingLine.credit), 0))
        .join(Loan, Loan.id == PostingLine.loan_id)
        .where(PostingLine.account == "piutang_pinjaman", *conditions))
    interest = db.session.scalar(
        select(func.coalesce(func.sum(PostingLine.credit), 0))
        .join(Loan, Loan.id == PostingLine.loan_id)
        .where(PostingLine.account == "pendapatan_jasa", *conditions))
    return {"loans": int(count), "lent": int(lent), "recovered": int(recovered),
            "outstanding": int(lent) - int(recovered), "interest": int(interest)}


def split(pool: int, weights: dict[int, int]) -> dict[int, int]:
    """``pool`` rupiah over ``weights``, rounded down, the rupiah left by rounding given one
    each to the largest remainders (ties to the lower id): the parts add up to the pool."""
    total = sum(w for w in weights.values() if w > 0)
    if pool <= 0 or total <= 0:
        return {key: 0 for key in weights}
    parts = {key: pool * max(w, 0) // total for key, w in weights.items()}
    left = pool - sum(parts.values())
    order = sorted(weights, key=lambda k: (-(pool * max(weights[k], 0) % total), k))
    for key in order[:left]:
        parts[key] += 1
    return parts


def shu(coop_id: int, year: int, amount: int | None = None) -> dict:
    """SHU of a year: by default the year's income less its expenses from the books; the
    cooperative's percentages for jasa modal (by savings at year end: pokok and wajib) and
    jasa usaha (by loan interest paid in the year); the rest stays with the cooperative
    (reserves, management, social funds, as its statutes say)."""
    start, end = jakarta_day_start(date(year, 1, 1)), jakarta_day_start(date(year + 1, 1, 1))
    terms = db.session.get(CoopTerms, coop_id) or CoopTerms(shu_capital_pct=20,
                                                            shu_business_pct=25)
    in_year = and_(Posting.posted_at >= start, Posting.posted_at < end)
    if amount is None:
        income = 0
        for account, d, c in db.session.execute(
                select(PostingLine.account, func.sum(PostingLine.debit), func.sum(PostingLine.credit))
                .join(Posting, Posting.id == PostingLine.posting_id)
                .where(PostingLine.cooperative_id == coop_id, in_year,
                       PostingLine.account.in_(("pendapatan_jasa", "pendapatan_denda",
                                                "pendapatan_lain", "beban_gateway")))
                .group_by(PostingLine.account)):
            income += int(c) - int(d)
        amount = max(income, 0)
    capital_pool = amount * terms.shu_capital_pct // 100
    business_pool = amount * terms.shu_business_pct // 100
    savings = dict(db.session.execute(
        select(PostingLine.member_id, func.sum(PostingLine.credit - PostingLine.debit))
        .join(Posting, Posting.id == PostingLine.posting_id)
        .where(PostingLine.cooperative_id == coop_id, Posting.posted_at < end,
               PostingLine.account.in_(("simpanan_pokok", "simpanan_wajib")),
               PostingLine.member_id.is_not(None)).group_by(PostingLine.member_id)).all())
    interest = dict(db.session.execute(
        select(PostingLine.member_id, func.sum(PostingLine.credit - PostingLine.debit))
        .join(Posting, Posting.id == PostingLine.posting_id)
        .where(PostingLine.cooperative_id == coop_id, in_year,
               PostingLine.account == "pendapatan_jasa",
               PostingLine.member_id.is_not(None)).group_by(PostingLine.member_id)).all())
    members = db.session.execute(select(CoopMember.id, CoopMember.number, CoopMember.name,
                                        CoopMember.user_id)
                                 .where(CoopMember.cooperative_id == coop_id)
                                 .order_by(CoopMember.number)).all()
    bought = _purchases_at_own_shop(coop_id, start, end)
    usage = {m: int(interest.get(m, 0) or 0) + bought.get(user_id, 0)
             for m, _n, _x, user_id in members}
    capital = split(capital_pool, {m: int(savings.get(m, 0) or 0) for m, _n, _x, _u in members})
    business = split(business_pool, usage)
    rows = [(number, name, int(savings.get(mid, 0) or 0), capital.get(mid, 0),
             int(interest.get(mid, 0) or 0), bought.get(user_id, 0), business.get(mid, 0),
             capital.get(mid, 0) + business.get(mid, 0))
            for mid, number, name, user_id in members]
    return {"year": year, "amount": amount, "capital_pool": capital_pool,
            "business_pool": business_pool,
            "kept": amount - sum(capital.values()) - sum(business.values()), "rows": rows,
            "capital_pct": terms.shu_capital_pct, "business_pct": terms.shu_business_pct}


def _purchases_at_own_shop(coop_id: int, start: datetime, end: datetime) -> dict[int, int]:
    """What each member (by account) bought from the cooperative's own shop in the year,
    paid and not refunded: the other half of jasa usaha."""
    from ..orders.models import Order

    shop_id = db.session.scalar(select(Cooperative.shop_id).where(Cooperative.id == coop_id))
    if shop_id is None:
        return {}
    return {buyer: int(total) for buyer, total in db.session.execute(
        select(Order.buyer_id, func.sum(Order.total))
        .where(Order.shop_id == shop_id, Order.buyer_id.is_not(None), Order.paid_at >= start,
               Order.paid_at < end, Order.refunded_at.is_(None))
        .group_by(Order.buyer_id)).all()}


def table(coop: Cooperative, report: str, args) -> tuple[str, tuple, list] | None:
    if report == "neraca-saldo":
        rows = [(r.account, r.name, r.debit, r.credit, r.balance)
                for r in books.trial_balance(coop.id)]
        total_d, total_c = sum(r[2] for r in rows), sum(r[3] for r in rows)
        rows.append(("", _("Jumlah"), total_d, total_c, None))
        return _("Neraca saldo"), ("akun", "nama", "debit", "kredit", "saldo"), rows
    if report == "buku-anggota":
        return member_ledger(coop.id)
    if report == "pinjaman":
        return loans_table(coop.id)
    if report == "dana-bergulir":
        fund = revolving_fund(coop.id)
        return _("Dana bergulir"), ("pinjaman", "dipinjamkan", "kembali", "beredar", "jasa"), \
            [(fund["loans"], fund["lent"], fund["recovered"], fund["outstanding"],
              fund["interest"])]
    if report == "shu":
        year = whole_number(args.get("tahun"), low=2000, high=2099,
                            default=today_in_jakarta().year - 1)
        amount = whole_number(args.get("jumlah"), low=0, high=10**13)
        made = shu(coop.id, year, amount)
        rows = [*made["rows"], ("", _("Jumlah"), None, sum(r[3] for r in made["rows"]), None,
                                None, sum(r[6] for r in made["rows"]),
                                sum(r[7] for r in made["rows"])),
                ("", _("Dana koperasi (cadangan, pengurus, sosial)"), None, None, None, None,
                 None, made["kept"]),
                ("", _("SHU %(year)s", year=year), None, made["capital_pool"], None, None,
                 made["business_pool"], made["amount"])]
        return _("SHU %(year)s", year=year), ("nomor", "nama", "simpanan", "jasa_modal",
                                             "jasa_pinjaman", "belanja_di_toko_koperasi",
                                             "jasa_usaha", "shu_anggota"), rows
    return None


# --- the city office ------------------------------------------------------------------------

HEALTH_ORDERS = ("name", "members", "savings", "outstanding", "late30", "late90", "rate")


def health(order: str = "name", today: date | None = None) -> list[dict]:
    today = today or today_in_jakarta()
    coops = db.session.execute(select(Cooperative.id, Cooperative.name, Cooperative.slug,
                                      Cooperative.kecamatan)).all()
    counts = {cid: (int(n), int(a or 0)) for cid, n, a in db.session.execute(
        select(CoopMember.cooperative_id, func.count(CoopMember.id),
               func.sum(case((CoopMember.status == "active", 1), else_=0)))
        .group_by(CoopMember.cooperative_id))}
    held: dict[int, dict[str, int]] = {}
    for cid, account, total in db.session.execute(
            select(CoopMember.cooperative_id, MemberBalance.account, func.sum(MemberBalance.balance))
            .join(CoopMember, CoopMember.id == MemberBalance.member_id)
            .group_by(CoopMember.cooperative_id, MemberBalance.account)):
        held.setdefault(cid, {})[account] = int(total)
    late = {}
    for cid, d30, d90, due, paid in db.session.execute(
            select(Bill.cooperative_id,
                   func.sum(case((and_(Bill.status == "open",
                                       Bill.due_on < today - timedelta(days=30)),
                                  Bill.amount - Bill.paid), else_=0)),
                   func.sum(case((and_(Bill.status == "open",
                                       Bill.due_on < today - timedelta(days=90)),
                                  Bill.amount - Bill.paid), else_=0)),
                   func.sum(Bill.amount), func.sum(Bill.paid))
            .where(Bill.kind.in_(("angsuran_pokok", "angsuran_jasa")), Bill.due_on <= today,
                   Bill.status != "void")
            .group_by(Bill.cooperative_id)):
        late[cid] = (int(d30 or 0), int(d90 or 0), int(due or 0), int(paid or 0))
    rat = dict(db.session.execute(select(CoopTerms.cooperative_id, CoopTerms.rat_held_on)).all())
    rows = []
    for cid, name, slug, kecamatan in coops:
        members, active = counts.get(cid, (0, 0))
        h = held.get(cid, {})
        d30, d90, due, paid = late.get(cid, (0, 0, 0, 0))
        rat_on = rat.get(cid)
        rows.append({
            "id": cid, "name": name, "slug": slug, "kecamatan": kecamatan, "members": members,
            "active": active, "savings": sum(h.get(a, 0) for a in books.SAVINGS),
            "outstanding": h.get("piutang_pinjaman", 0), "late30": d30, "late90": d90,
            "rate": round(100 * paid / due, 1) if due else None,
            "rat": rat_on, "rat_held": bool(rat_on and rat_on.year >= today.year - 1)})
    key = order if order in HEALTH_ORDERS else "name"
    reverse = key != "name"
    rows.sort(key=lambda r: (r[key] is None, r[key] if r[key] is not None else 0)
              if key != "name" else r["name"].lower(), reverse=reverse)
    return rows


def health_table(rows: list[dict]):
    header = ("koperasi", "kecamatan", "anggota", "anggota_aktif", "simpanan", "pinjaman_beredar",
              "tunggakan_lebih_30_hari", "tunggakan_lebih_90_hari", "tingkat_pengembalian_persen",
              "rat_terakhir")
    return header, [(r["name"], r["kecamatan"], r["members"], r["active"], r["savings"],
                     r["outstanding"], r["late30"], r["late90"], r["rate"], r["rat"])
                    for r in rows]


def member_data(member: CoopMember) -> dict:
    """Everything held about a member, as they may download it."""
    from .models import Allocation, MemberPayment, Withdrawal

    def rows(model, *conditions):
        return [{c.name: getattr(r, c.name) for c in model.__table__.columns}
                for r in db.session.scalars(select(model).where(*conditions))]

    person = {c.name: getattr(member, c.name) for c in member.__table__.columns
              if c.name != "nik_sealed"}
    return {
        "dibuat": datetime.now().isoformat(timespec="seconds"),
        "koperasi": member.cooperative.name, "anggota": person,
        "saldo": books.balances(member.id),
        "tagihan": rows(Bill, Bill.member_id == member.id),
        "pinjaman": rows(Loan, Loan.member_id == member.id),
        "pembayaran": rows(MemberPayment, MemberPayment.member_id == member.id),
        "alokasi": rows(Allocation, Allocation.payment_id.in_(
            select(MemberPayment.id).where(MemberPayment.member_id == member.id))),
        "penarikan": rows(Withdrawal, Withdrawal.member_id == member.id),
        "posting": [{"waktu": p.posted_at, "keterangan": p.memo,
                     "baris": [{"akun": l.account, "debit": l.debit, "kredit": l.credit}
                               for l in p.lines if l.member_id == member.id]}
                    for p in db.session.scalars(select(Posting).where(
                        Posting.member_id == member.id).order_by(Posting.id))],
    }
