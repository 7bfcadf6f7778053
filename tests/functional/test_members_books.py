"""Random member histories (issue 18): members join and leave, deposit, withdraw, borrow,
pay part, pay late, pay all their bills at once in cash or through the gateway, and gateway
payments that fail, arrive twice or arrive after they were cancelled.

After every step: the books balance (every posting and every cooperative), each member's
balances equal the sum of their postings, no bill is paid beyond itself or twice, every
paid payment is allocated to the rupiah, and the SHU parts add up to the SHU."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from storefront.cooperatives import services as coops
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.members import books, reports, services
from storefront.members.models import Allocation, Bill, CoopMember, Loan, MemberPayment
from storefront.payments import gateway as contract
from storefront.payments import settlement
from tests.factories import UserFactory

_n = itertools.count(1)
MONEY = st.integers(1, 400).map(lambda k: k * 1_000)


class MemberHistories(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        n = next(_n)
        self.manager = UserFactory(email=f"ketua{n}@kop.id")
        self.coop = coops.create(f"Koperasi Uji {n}", f"AHU-UJI-{n}", "Cipondoh", "Ketapang",
                                 self.manager, managers=[self.manager])
        terms = services.terms_of(self.coop.id, to_change=True)
        terms.wajib, terms.late_fee = 20_000, 5_000
        db.session.commit()
        self.month = date(2025, 1, 1)
        self.members: list[int] = []
        self.paid_gateway: set[int] = set()

    def _member(self, index: int) -> CoopMember | None:
        active = [m for m in self.members
                  if db.session.get(CoopMember, m).status == "active"]
        return db.session.get(CoopMember, active[index % len(active)]) if active else None

    @rule()
    def join(self):
        services.register(self.coop, name=f"Anggota {next(_n)}", joined_on=self.month,
                          actor=self.manager)
        db.session.commit()
        self.members.append(db.session.scalar(select(func.max(CoopMember.id))))

    @precondition(lambda self: self.members)
    @rule(index=st.integers(0, 50))
    def leave(self, index):
        member = self._member(index)
        if member is None:
            return
        try:
            services.leave(member, self.manager)
            db.session.commit()
        except services.Refused:
            db.session.rollback()

    @precondition(lambda self: self.members)
    @rule(index=st.integers(0, 50), amount=MONEY)
    def deposit(self, index, amount):
        member = self._member(index)
        if member is not None:
            services.deposit(member, amount, self.manager)
            db.session.commit()

    @precondition(lambda self: self.members)
    @rule(index=st.integers(0, 50), amount=MONEY, pay=st.booleans())
    def withdraw(self, index, amount, pay):
        member = self._member(index)
        if member is None:
            return
        try:
            withdrawal = services.request_withdrawal(member, amount)
            db.session.commit()
            services.decide_withdrawal(withdrawal, pay, self.manager, "" if pay else "tidak")
            db.session.commit()
        except services.Refused:
            db.session.rollback()

    @precondition(lambda self: self.members)
    @rule(index=st.integers(0, 50), amount=st.integers(1, 50).map(lambda k: k * 100_000),
          term=st.integers(1, 12), method=st.sampled_from(["flat", "declining"]))
    def borrow(self, index, amount, term, method):
        member = self._member(index)
        if member is None:
            return
        loan = services.apply_for_loan(member, amount, term, "usaha", method)
        services.decide_loan(loan, True, self.manager, revolving=amount % 200_000 == 0)
        services.disburse(loan, self.manager, on=self.month)
        db.session.commit()

    @rule()
    def next_month(self):
        self.month = (self.month + timedelta(days=32)).replace(day=1)
        services.bill_run(self.coop.id, self.month, today=self.month + timedelta(days=15))
        db.session.commit()

    @precondition(lambda self: self.members)
    @rule(index=st.integers(0, 50), amount=MONEY, everything=st.booleans())
    def pay_cash(self, index, amount, everything):
        member = self._member(index)
        if member is None:
            return
        owed = services.open_total(member.id)
        services.record_cash(member, owed if everything and owed else amount, self.manager)
        db.session.commit()

    @precondition(lambda self: self.members)
    @rule(index=st.integers(0, 50), outcome=st.sampled_from(
        ["paid", "paid_twice", "failed", "expired", "paid_after_cancel"]), part=st.booleans())
    def pay_gateway(self, index, outcome, part):
        member = self._member(index)
        owed = services.open_total(member.id) if member else 0
        if not owed:
            return
        amount = max(1, owed // 2) if part else owed
        payment = services.start_bill_payment(member, amount, "qris", f"kp-h{next(_n)}",
                                              "sandbox")
        db.session.commit()
        purchase = payment.purchase
        gateway_id = f"cs_hist_{purchase.code}"
        settlement.started(purchase.id, "sandbox", contract.Payment(
            id=gateway_id, status=contract.PENDING, amount=amount, reference=purchase.code))
        db.session.commit()
        paid = contract.Payment(id=gateway_id, status=contract.PAID, amount=amount,
                                reference=purchase.code, fee=amount // 100 or None)
        if outcome == "paid_after_cancel":
            settlement.close(purchase, "cancelled")
            settlement.apply(purchase, paid, source="webhook")
        elif outcome in ("failed", "expired"):
            settlement.apply(purchase, contract.Payment(
                id=gateway_id, status=outcome, amount=amount, reference=purchase.code),
                source="webhook")
        else:
            settlement.apply(purchase, paid, source="webhook")
            if outcome == "paid_twice":
                settlement.apply(purchase, paid, source="retrieve")
            self.paid_gateway.add(payment.id)
        db.session.commit()

    @invariant()
    def books_balance(self):
        if not hasattr(self, "coop"):
            return
        assert books.check() == []
        assert ledger.unbacked_payments() == []
        for trial in [books.trial_balance(self.coop.id)]:
            assert sum(r.debit for r in trial) == sum(r.credit for r in trial)

    @invariant()
    def every_paid_payment_is_allocated_to_the_rupiah(self):
        if not hasattr(self, "coop"):
            return
        for payment in db.session.scalars(select(MemberPayment).where(
                MemberPayment.cooperative_id == self.coop.id)):
            allocated = db.session.scalar(select(func.coalesce(func.sum(Allocation.amount), 0))
                                          .where(Allocation.payment_id == payment.id))
            if payment.purchase.status == "paid":
                assert payment.allocated_at is not None
                assert allocated + payment.to_savings == payment.amount
            else:
                assert allocated == 0 and payment.allocated_at is None
        assert db.session.scalar(select(func.count(Bill.id)).where(Bill.paid > Bill.amount)) == 0

    @invariant()
    def loans_owe_no_more_than_was_lent(self):
        if not hasattr(self, "coop"):
            return
        for loan in db.session.scalars(select(Loan).where(Loan.cooperative_id == self.coop.id,
                                                          Loan.status == "disbursed")):
            assert 0 <= books.loan_outstanding(loan.id) <= loan.amount

    @invariant()
    def shu_parts_add_up(self):
        if not hasattr(self, "coop"):
            return
        made = reports.shu(self.coop.id, self.month.year, amount=1_234_567)
        assert sum(r[3] for r in made["rows"]) + sum(r[6] for r in made["rows"]) \
            + made["kept"] == made["amount"]


def test_member_histories_keep_the_books_balanced(app):
    MemberHistories.TestCase.settings = settings(
        max_examples=25, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    MemberHistories.TestCase().runTest()


def test_split_gives_every_rupiah_to_someone():
    assert reports.split(100, {1: 1, 2: 1, 3: 1}) == {1: 34, 2: 33, 3: 33}
    assert sum(reports.split(1_000_003, {1: 7, 2: 0, 3: 5, 4: 11}).values()) == 1_000_003
    assert reports.split(50, {1: 0, 2: 0}) == {1: 0, 2: 0}
