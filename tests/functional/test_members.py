"""Cooperative members: the register, savings, loans, the month's bills and one payment over
them (cash at the office and through the gateway), and books that balance after each."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from storefront.cooperatives import services as coops
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import AuditEntry
from storefront.members import books, services
from storefront.members.models import Bill, CoopMember, Loan, MemberPayment
from storefront.members.schedule import schedule
from tests.factories import UserFactory
from tests.functional.test_checkout import deliver
from tests.helpers import csrf_token


@pytest.fixture
def coop(app):
    manager = UserFactory(email="ketua@kopwarga.id", name="Bu Ketua", roles=["shopper"])
    office = UserFactory(email="dinas@contoh.id", roles=["admin"])
    UserFactory(email="petugas@kopwarga.id", name="Pak Petugas", roles=["shopper"])
    UserFactory(email="siti@contoh.id", name="Siti Aminah", roles=["shopper"])
    UserFactory(email="orang@contoh.id", name="Orang Lain", roles=["shopper"])
    made = coops.create("Koperasi Warga Sejahtera", "AHU-0009.AH.01.26", "Cipondoh", "Ketapang",
                        office, managers=[manager])
    db.session.commit()
    return made


def login(client, auth, email):
    auth.logout()
    auth.login(email)
    return client


def post(client, url, data, page=None):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page or "/keranjang")})


def add_member(client, coop, **fields):
    data = {"name": "Siti Aminah", "phone": "0812 3456 7890", "email": "siti@contoh.id",
            "kelurahan": "Ketapang", **fields}
    return post(client, f"/koperasi/{coop.slug}/anggota", data, f"/koperasi/{coop.slug}/anggota")


def member_named(name) -> CoopMember:
    db.session.expire_all()
    return db.session.scalar(select(CoopMember).where(CoopMember.name == name))


@pytest.fixture
def siti(client, auth, coop):
    login(client, auth, "ketua@kopwarga.id")
    assert add_member(client, coop).status_code == 303
    return member_named("Siti Aminah")


def test_a_manager_registers_a_member_who_then_sees_only_their_own_page(client, auth, coop, siti):
    assert siti.number == "00001" and siti.user.email == "siti@contoh.id"
    # the simpanan pokok is their first bill
    assert [(b.kind, b.amount) for b in books.open_bills(siti.id)] == [("simpanan_pokok", 100_000)]
    login(client, auth, "siti@contoh.id")
    page = client.get("/anggota", follow_redirects=True).get_data(as_text=True)
    assert "Siti Aminah" in page and "Rp100.000" in page and "Simpanan pokok" in page
    login(client, auth, "orang@contoh.id")
    assert client.get(f"/anggota/{siti.id}").status_code == 404
    assert client.get(f"/koperasi/{coop.slug}/anggota").status_code == 403


def test_bad_register_input_is_shown_next_to_the_field(client, auth, coop, siti):
    answer = add_member(client, coop, name="Budi", email="", phone="08１２", nik="12ab")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Tulis nomor HP dengan angka" in page
    assert "NIK terdiri dari 16 angka" in page and 'value="Budi"' in page
    again = add_member(client, coop, name="Budi", email="", number=siti.number)
    assert again.status_code == 409 and "sudah dipakai" in again.get_data(as_text=True)
    taken = add_member(client, coop, name="Siti Lagi")
    assert taken.status_code == 409 and "sudah terdaftar" in taken.get_data(as_text=True)


def test_nik_is_sealed_and_shown_masked_and_every_staff_look_is_audited(client, auth, coop):
    login(client, auth, "ketua@kopwarga.id")
    assert add_member(client, coop, name="Budi", email="", nik="3671012345670004").status_code == 303
    budi = member_named("Budi")
    assert budi.nik_sealed and "3671012345670004" not in budi.nik_sealed and budi.nik_last4 == "0004"
    page = client.get(f"/koperasi/{coop.slug}/anggota/{budi.id}").get_data(as_text=True)
    assert "••••••••••••0004" in page and "3671012345670004" not in page
    looks = db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "member.view", AuditEntry.object_id == str(budi.id)))
    assert looks == 1


def test_staff_record_payments_but_cannot_decide_loans(client, auth, coop, siti):
    post(client, f"/koperasi/{coop.slug}/petugas", {"petugas-email": "petugas@kopwarga.id"},
         f"/koperasi/{coop.slug}/anggota")
    loan = services.apply_for_loan(siti, 1_000_000, 10, "modal warung")
    db.session.commit()
    login(client, auth, "petugas@kopwarga.id")
    answer = post(client, f"/koperasi/{coop.slug}/anggota/{siti.id}/catat/bayar-tunai",
                  {"tunai-amount": "100.000"})
    assert answer.status_code == 303
    assert post(client, f"/koperasi/{coop.slug}/pinjaman/{loan.id}/setujui", {}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Loan, loan.id).status == "applied"
    assert books.balances(siti.id)["simpanan_pokok"] == 100_000


def test_savings_deposit_and_a_withdrawal_staff_approve(client, auth, coop, siti):
    url = f"/koperasi/{coop.slug}/anggota/{siti.id}"
    assert post(client, f"{url}/catat/setor", {"setor-amount": "50.000"}, url).status_code == 303
    login(client, auth, "siti@contoh.id")
    too_much = post(client, f"/anggota/{siti.id}/tarik", {"tarik-amount": "60.000"})
    assert too_much.status_code == 409 and "tidak cukup" in too_much.get_data(as_text=True)
    assert post(client, f"/anggota/{siti.id}/tarik", {"tarik-amount": "20.000"}).status_code == 303
    login(client, auth, "ketua@kopwarga.id")
    withdrawal_id = db.session.execute(select(func.max(
        __import__("storefront.members.models", fromlist=["Withdrawal"]).Withdrawal.id))).scalar()
    assert post(client, f"/koperasi/{coop.slug}/penarikan/{withdrawal_id}/bayar", {},
                url).status_code == 303
    assert books.balances(siti.id)["simpanan_sukarela"] == 30_000
    # paying it again pays nothing
    post(client, f"/koperasi/{coop.slug}/penarikan/{withdrawal_id}/bayar", {}, url)
    assert books.balances(siti.id)["simpanan_sukarela"] == 30_000
    assert books.check() == []


@pytest.mark.parametrize("method", ["flat", "declining"])
def test_schedules_add_up_to_the_rupiah(method):
    rows = schedule(1_000_000, 3, 150, method, date(2026, 1, 20), due_day=10)
    assert sum(r.principal for r in rows) == 1_000_000
    assert [r.principal for r in rows] == [333_333, 333_333, 333_334]
    assert [r.due_on for r in rows] == [date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 10)]
    if method == "flat":
        assert [r.interest for r in rows] == [15_000, 15_000, 15_000]
    else:  # 1.5% of 1,000,000; of 666,667 (10,000.005 -> 10,000); of 333,334 (5,000.01 -> 5,000)
        assert [r.interest for r in rows] == [15_000, 10_000, 5_000]


def test_a_loan_from_application_to_disbursement_and_its_bills(client, auth, coop, siti):
    login(client, auth, "siti@contoh.id")
    answer = post(client, f"/anggota/{siti.id}/pinjaman",
                  {"pinjam-amount": "1.200.000", "pinjam-term": "12", "pinjam-method": "flat",
                   "pinjam-purpose": "Modal warung"})
    assert answer.status_code == 303
    loan = db.session.scalar(select(Loan).where(Loan.member_id == siti.id))
    login(client, auth, "ketua@kopwarga.id")
    refused = post(client, f"/koperasi/{coop.slug}/pinjaman/{loan.id}/tolak", {"reason": ""})
    assert refused.status_code == 303
    db.session.expire_all()
    assert db.session.get(Loan, loan.id).status == "applied"  # a rejection needs a reason
    post(client, f"/koperasi/{coop.slug}/pinjaman/{loan.id}/setujui", {"revolving": "y"})
    post(client, f"/koperasi/{coop.slug}/pinjaman/{loan.id}/cairkan", {"via": "cash"})
    db.session.expire_all()
    loan = db.session.get(Loan, loan.id)
    assert loan.status == "disbursed" and loan.revolving and len(loan.instalments) == 12
    assert books.balances(siti.id)["piutang_pinjaman"] == 1_200_000
    first_due = loan.instalments[0].due_on
    services.bill_run(coop.id, first_due.replace(day=1))
    db.session.commit()
    kinds = sorted(b.kind for b in books.open_bills(siti.id))
    assert kinds == ["angsuran_jasa", "angsuran_pokok", "simpanan_pokok", "simpanan_wajib"]
    # again: nothing new
    assert services.bill_run(coop.id, first_due.replace(day=1)).wajib == 0
    # a month later, unpaid: a late fee, once
    later = (first_due + timedelta(days=35)).replace(day=1)
    result = services.bill_run(coop.id, later, today=later + timedelta(days=20))
    assert result.late_fees == 1
    assert services.bill_run(coop.id, later, today=later + timedelta(days=20)).late_fees == 0
    page = client.get(f"/anggota/{siti.id}/jadwal/{loan.id}")
    assert page.status_code == 404  # the manager is not the member
    login(client, auth, "siti@contoh.id")
    page = client.get(f"/anggota/{siti.id}/jadwal/{loan.id}").get_data(as_text=True)
    assert "Rp100.000" in page and "terbuka" in page
    assert books.check() == []


def test_one_cash_payment_pays_oldest_first_fees_before_principal(client, auth, coop, siti):
    loan = services.apply_for_loan(siti, 300_000, 3, "alat")
    services.decide_loan(loan, True, coop.managers[0])
    services.disburse(loan, coop.managers[0], on=date(2026, 1, 5))
    services.bill_run(coop.id, date(2026, 2, 1), today=date(2026, 3, 20))
    services.bill_run(coop.id, date(2026, 3, 1), today=date(2026, 3, 20))
    db.session.commit()
    bills = books.open_bills(siti.id)
    # February's instalment first; in March the late fee before interest before principal;
    # the simpanan pokok (due the day she joined, today) last. She joined after those
    # months: no simpanan wajib for them.
    assert [(b.kind, b.due_on.month) for b in bills][:5] == [
        ("angsuran_jasa", 2), ("angsuran_pokok", 2), ("denda", 3), ("angsuran_jasa", 3),
        ("angsuran_pokok", 3)]
    url = f"/koperasi/{coop.slug}/anggota/{siti.id}"
    first_two = bills[0].amount + bills[1].amount
    answer = post(client, f"{url}/catat/bayar-tunai", {"tunai-amount": str(first_two + 1_000)}, url)
    assert answer.status_code == 303 and "/kuitansi/" in answer.headers["Location"]
    receipt = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "LUNAS" in receipt and "sebagian" in receipt and "Jasa pinjaman" in receipt
    db.session.expire_all()
    paid = [b for b in db.session.scalars(select(Bill).where(Bill.member_id == siti.id))
            if b.paid]
    assert sorted((b.kind, b.paid) for b in paid) == sorted(
        [("angsuran_jasa", bills[0].amount), ("angsuran_pokok", bills[1].amount),
         ("denda", 1_000)])
    assert books.check() == [] and ledger.check() == []


def test_more_than_owed_goes_to_voluntary_savings(client, auth, coop, siti):
    url = f"/koperasi/{coop.slug}/anggota/{siti.id}"
    post(client, f"{url}/catat/bayar-tunai", {"tunai-amount": "150.000"}, url)
    payment = db.session.scalar(select(MemberPayment))
    assert payment.to_savings == 50_000
    assert books.balances(siti.id) == {"simpanan_pokok": 100_000, "simpanan_wajib": 0,
                                       "simpanan_sukarela": 50_000, "piutang_pinjaman": 0}


def test_a_double_sent_cash_form_records_one_payment(client, auth, coop, siti):
    url = f"/koperasi/{coop.slug}/anggota/{siti.id}"
    token = csrf_token(client, url)
    data = {"tunai-amount": "40.000", "tunai-attempt": "sekali-saja-1", "csrf_token": token}
    assert client.post(f"{url}/catat/bayar-tunai", data=data).status_code == 303
    assert client.post(f"{url}/catat/bayar-tunai", data=data).status_code == 303
    assert db.session.scalar(select(func.count(MemberPayment.id))) == 1


@pytest.mark.parametrize("typed", ["0", "-5", "١٠٠", "abc", "99999999999999999999", "1.5", "Rp 1,50"])
def test_bad_amounts_are_refused_next_to_the_field(client, auth, coop, siti, typed):
    url = f"/koperasi/{coop.slug}/anggota/{siti.id}"
    answer = post(client, f"{url}/catat/bayar-tunai", {"tunai-amount": typed}, url)
    assert answer.status_code == 422, typed
    assert 'class="error"' in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(MemberPayment.id))) == 0


def test_a_member_pays_all_bills_with_one_gateway_payment(client, auth, coop, siti, sandbox):
    services.bill_run(coop.id, date.today().replace(day=1))
    db.session.commit()
    owed = services.open_total(siti.id)
    login(client, auth, "siti@contoh.id")
    page = client.get(f"/anggota/{siti.id}").get_data(as_text=True)
    assert "Bayar semua tagihan" in page
    answer = post(client, f"/anggota/{siti.id}/bayar",
                  {"bayar-amount": str(owed), "bayar-method": "card", "bayar-attempt": "a1"},
                  f"/anggota/{siti.id}")
    assert answer.status_code == 303
    payment = db.session.scalar(select(MemberPayment))
    assert payment.purchase.status == "pending" and payment.purchase.orders == []
    sandbox.pay(payment.purchase.payment_id)
    assert all(r.status_code == 200 for r in deliver(client, sandbox))
    db.session.expire_all()
    payment = db.session.get(MemberPayment, payment.id)
    assert payment.purchase.status == "paid" and services.open_total(siti.id) == 0
    assert len(payment.allocations) == 2
    receipt = client.get(f"/anggota/{siti.id}/pembayaran/{payment.id}").get_data(as_text=True)
    assert "LUNAS" in receipt and "Simpanan wajib" in receipt
    # the gateway says it again: nothing is paid twice
    deliver(client, sandbox, events=sandbox.events())
    assert books.check() == [] and ledger.check() == []
    assert books.trial_balance(coop.id)[1].debit == owed  # gateway clearing


def test_a_member_cannot_pay_more_than_is_open(client, auth, coop, siti, sandbox):
    login(client, auth, "siti@contoh.id")
    answer = post(client, f"/anggota/{siti.id}/bayar",
                  {"bayar-amount": "900.000", "bayar-method": "card", "bayar-attempt": "a2"},
                  f"/anggota/{siti.id}")
    assert answer.status_code == 409 and "melebihi" in answer.get_data(as_text=True)


def test_leaving_pays_out_savings_and_waives_open_bills(client, auth, coop, siti):
    url = f"/koperasi/{coop.slug}/anggota/{siti.id}"
    post(client, f"{url}/catat/bayar-tunai", {"tunai-amount": "100.000"}, url)
    services.bill_run(coop.id, date.today().replace(day=1))
    db.session.commit()
    assert post(client, f"{url}/catat/keluar", {}, url).status_code == 303
    db.session.expire_all()
    assert member_named("Siti Aminah").status == "left"
    assert books.balances(siti.id)["simpanan_pokok"] == 0 and not books.open_bills(siti.id)
    assert books.check() == []


def test_the_books_page_trial_balance_and_reports(client, auth, coop, siti, runner):
    url = f"/koperasi/{coop.slug}/anggota/{siti.id}"
    post(client, f"{url}/catat/bayar-tunai", {"tunai-amount": "100.000"}, url)
    page = client.get(f"/koperasi/{coop.slug}/buku").get_data(as_text=True)
    assert "Neraca saldo" in page and "Rp100.000" in page
    for report in ("neraca-saldo", "buku-anggota", "pinjaman", "dana-bergulir", "shu"):
        assert client.get(f"/koperasi/{coop.slug}/laporan/{report}").status_code == 200
        csv = client.get(f"/koperasi/{coop.slug}/laporan/{report}.csv")
        assert csv.status_code == 200 and csv.get_data(as_text=True)
    assert client.get(f"/koperasi/{coop.slug}/laporan/shu.xlsx").get_data()[:2] == b"PK"
    result = runner.invoke(args=["books-check"])
    assert result.exit_code == 0 and "seimbang" in result.output


def test_the_live_list_sends_only_newer_postings(client, auth, coop, siti):
    url = f"/koperasi/{coop.slug}/anggota/{siti.id}"
    post(client, f"{url}/catat/setor", {"setor-amount": "10.000"}, url)
    page = client.get(f"/koperasi/{coop.slug}/buku").get_data(as_text=True)
    last = int(page.split("setelah=")[1].split('"')[0])
    headers = {"HX-Request": "true", "HX-Target": "poller"}
    live = f"/koperasi/{coop.slug}/buku/baru?setelah={last}"
    assert client.get(live, headers=headers).status_code == 204
    services.deposit(siti, 7_000, None)
    db.session.commit()
    fresh = client.get(live, headers=headers).get_data(as_text=True)
    assert "Rp7.000" in fresh and "Rp10.000" not in fresh and "afterbegin:#posting-list" in fresh


def test_the_office_health_table_is_for_the_office(client, auth, coop, siti):
    login(client, auth, "dinas@contoh.id")
    page = client.get("/admin/koperasi/kesehatan?urut=savings").get_data(as_text=True)
    assert "Koperasi Warga Sejahtera" in page
    assert "Koperasi Warga Sejahtera" in client.get("/admin/koperasi/kesehatan.csv").get_data(
        as_text=True)
    login(client, auth, "siti@contoh.id")
    assert client.get("/admin/koperasi/kesehatan").status_code == 403


def test_a_member_downloads_what_is_held_about_them(client, auth, coop, siti):
    login(client, auth, "siti@contoh.id")
    answer = client.get(f"/anggota/{siti.id}/data.json")
    assert answer.status_code == 200 and answer.json["anggota"]["name"] == "Siti Aminah"
    assert "nik_sealed" not in answer.json["anggota"]


def test_the_register_is_imported_from_a_csv_after_a_preview(client, auth, coop, siti):
    import io

    page = f"/koperasi/{coop.slug}/anggota/impor"
    body = ("Nomor;Nama;HP;Kelurahan;Tanggal masuk;NIK\n"
            "00101;Budi Santoso;0812-3333-4444;Ketapang;31/01/2024;3671012345670001\n"
            "00102;Dewi;bukan nomor;Ketapang;2024-02-30;\n"
            f"{siti.number};Siti Kembar;;;;\n"
            "00103;Ahmad <script>;;Cipete;;\n").encode()
    preview = client.post(page, data={"csrf_token": csrf_token(client, page),
                                      "berkas": (io.BytesIO(body), "anggota.csv")},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "2 dari 4 baris siap" in html and "sudah ada di daftar" in html
    assert "Nomor HP tidak valid" in html and "Tanggal masuk tidak valid" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert db.session.scalar(select(func.count(CoopMember.id))) == 1  # a preview writes nothing
    sealed = html.split('name="baris" value="')[1].split('"')[0]
    assert "3671012345670001" not in sealed
    answer = post(client, f"{page}/terapkan", {"baris": sealed}, page)
    assert answer.status_code == 303
    db.session.expire_all()
    budi = member_named("Budi Santoso")
    assert budi.joined_on == date(2024, 1, 31) and budi.nik_last4 == "0001"
    assert member_named("Siti Kembar") is None  # her number is taken: never written
    assert db.session.scalar(select(func.count(CoopMember.id))) == 3
    assert post(client, f"{page}/terapkan", {"baris": sealed[:-4] + "AAAA"}, page).status_code == 400


def test_reminders_before_and_after_the_due_date_go_once(app, client, auth, coop, siti, runner):
    from storefront.members import reminders

    month = (siti.joined_on.replace(day=1) + timedelta(days=32)).replace(day=1)
    services.bill_run(coop.id, month, today=month)
    db.session.commit()
    sent = []
    # two days before the wajib's due date: it is coming, and the pokok (due the day she
    # joined) is overdue: one message each
    assert reminders.send_all(sent.append, today=month.replace(day=8)) == 2
    assert {m.to for m in sent} == {"siti@contoh.id"}
    coming = next(m for m in sent if "segera jatuh tempo" in m.body)
    assert f"Simpanan wajib {month:%Y-%m}" in coming.body and f"/anggota/{siti.id}" in coming.body
    assert any("sudah lewat" in m.body and "Simpanan pokok" in m.body for m in sent)
    assert reminders.send_all(sent.append, today=month.replace(day=9)) == 0  # once
    assert reminders.send_all(sent.append, today=month.replace(day=12)) == 1  # wajib now late
    result = runner.invoke(args=["bills-remind"])
    assert result.exit_code == 0, result.output


def test_pay_pressed_twice_makes_one_payment(client, auth, coop, siti, sandbox):
    login(client, auth, "siti@contoh.id")
    data = {"bayar-amount": "100.000", "bayar-method": "card", "bayar-attempt": "dua-kali"}
    first = post(client, f"/anggota/{siti.id}/bayar", data, f"/anggota/{siti.id}")
    second = post(client, f"/anggota/{siti.id}/bayar", data, f"/anggota/{siti.id}")
    assert first.status_code == second.status_code == 303
    assert db.session.scalar(select(func.count(MemberPayment.id))) == 1


def test_a_member_cannot_open_another_members_receipt_or_loan(client, auth, coop, siti):
    budi = services.register(coop, name="Budi", actor=None)
    payment = services.record_cash(budi, 100_000, None)
    loan = services.apply_for_loan(budi, 500_000, 5, "rahasia Budi")
    db.session.commit()
    login(client, auth, "siti@contoh.id")
    for url in (f"/anggota/{siti.id}/pembayaran/{payment.id}", f"/anggota/{budi.id}",
                f"/anggota/{siti.id}/jadwal/{loan.id}", f"/anggota/{budi.id}/data.json"):
        answer = client.get(url)
        assert answer.status_code == 404 and "Budi" not in answer.get_data(as_text=True), url


def test_shu_splits_by_savings_and_by_loan_interest_to_the_rupiah(client, auth, coop, siti):
    from storefront.members import reports

    budi = services.register(coop, name="Budi", actor=None)
    services.record_cash(siti, 100_000, None)  # her simpanan pokok
    services.record_cash(budi, 100_000, None)
    services.deposit(budi, 999_000, None)  # voluntary savings do not count for jasa modal
    loan = services.apply_for_loan(budi, 1_000_000, 2, "usaha")
    services.decide_loan(loan, True, None)
    services.disburse(loan, None, on=date.today().replace(day=1))
    services.bill_run(coop.id, (date.today().replace(day=1) + timedelta(days=32)).replace(day=1))
    services.record_cash(budi, 515_000, None)  # first instalment: 500,000 + 15,000 interest
    db.session.commit()
    made = reports.shu(coop.id, date.today().year, amount=1_000_001)
    rows = {r[1]: r for r in made["rows"]}
    assert made["capital_pool"] == 200_000 and made["business_pool"] == 250_000
    assert rows["Siti Aminah"][3] == rows["Budi"][3] == 100_000  # equal pokok, equal share
    assert rows["Budi"][4] == 15_000 and rows["Budi"][6] == 250_000 and rows["Siti Aminah"][6] == 0
    assert made["kept"] == 1_000_001 - 450_000
    page = client.get(f"/koperasi/{coop.slug}/laporan/shu?tahun={date.today().year}"
                      f"&jumlah=1000001").get_data(as_text=True)
    assert "Rp250.000" in page and "Rp550.001" in page


def test_a_pending_qris_can_be_saved_as_a_picture_for_this_phone(client, auth, coop, siti):
    payment = services.start_bill_payment(siti, 100_000, "qris", "kp-gambar", "cash")
    db.session.commit()
    login(client, auth, "siti@contoh.id")
    url = f"/anggota/{siti.id}/pembayaran/{payment.id}"
    assert client.get(f"{url}/qris.png").status_code == 404  # no QR made yet
    assert "Bayar tagihan" in client.get(url).get_data(as_text=True)


def test_a_member_registered_by_email_is_invited_and_links_their_new_account(app, client, auth,
                                                                             coop, siti):
    answer = add_member(client, coop, name="Rina Baru", email="rina@contoh.id")
    assert answer.status_code == 303
    mail = app.extensions["gerai.sent_mail"][-1]
    assert mail["To"] == "rina@contoh.id" and "/daftar" in mail.get_content()
    rina = member_named("Rina Baru")
    assert rina.user_id is None
    UserFactory(email="rina@contoh.id", name="Rina")
    db.session.commit()
    login(client, auth, "orang@contoh.id")
    assert post(client, f"/anggota/hubungkan/{rina.id}", {}).status_code == 404
    login(client, auth, "rina@contoh.id")
    page = client.get("/anggota").get_data(as_text=True)
    assert "Hubungkan ke akun ini" in page and "Rina Baru" in page
    answer = post(client, f"/anggota/hubungkan/{rina.id}", {})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/anggota/{rina.id}")
    assert "Simpanan pokok" in client.get(f"/anggota/{rina.id}").get_data(as_text=True)


def test_a_manager_names_the_cooperatives_own_shop(client, auth, coop, siti):
    from storefront.cooperatives.models import Cooperative
    from tests.factories import ShopFactory

    own = ShopFactory(owner=coop.managers[0], name="Toko Koperasi Warga", type="koperasi")
    other = ShopFactory(name="Toko Orang Lain")
    db.session.commit()
    page = f"/koperasi/{coop.slug}/pengaturan"
    data = {"pokok": "100.000", "wajib": "25.000", "due_day": "10", "rate_bp": "150",
            "late_fee": "10.000", "shu_capital_pct": "20", "shu_business_pct": "25"}
    refused = post(client, page, {**data, "shop": other.slug}, page)
    assert refused.status_code == 422 and "bukan milik pengurus" in refused.get_data(as_text=True)
    assert post(client, page, {**data, "shop": own.slug}, page).status_code == 303
    db.session.expire_all()
    assert db.session.get(Cooperative, coop.id).shop_id == own.id
    assert "Toko Koperasi Warga" in client.get(page).get_data(as_text=True)


def test_a_bad_staff_email_is_shown_back_next_to_the_field(client, auth, coop, siti):
    page = f"/koperasi/{coop.slug}/anggota"
    for typed, status in (("bukan email", 422), ("tidak.ada@contoh.id", 422),
                          ("ketua@kopwarga.id", 409)):
        answer = post(client, f"/koperasi/{coop.slug}/petugas", {"petugas-email": typed}, page)
        html = answer.get_data(as_text=True)
        assert answer.status_code == status and f'value="{typed}"' in html, typed
        assert 'id="petugas-email-error"' in html
    assert client.get(f"{page}?q=a%00b").status_code == 200
