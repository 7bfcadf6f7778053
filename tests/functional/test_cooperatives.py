"""Cooperatives: members join and leave, managers see members' sales from their joining on."""

import pytest
from sqlalchemy import select

from storefront.cooperatives import services as coops
from storefront.cooperatives.models import Cooperative, Membership
from storefront.extensions import db
from storefront.ledger.models import AuditEntry
from tests.factories import UserFactory
from tests.functional.test_fair_dashboard import fair  # noqa: F401 (fixture)
from tests.helpers import csrf_token, ring_up


@pytest.fixture
def coop(app):
    manager = UserFactory(email="pengelola@contoh.id", roles=["shopper"])
    office = UserFactory(email="dinas@contoh.id", roles=["admin"])
    coop = coops.create("Koperasi Maju Bersama", "AHU-0001234.AH.01.26", "Cipondoh", "Ketapang",
                        office, managers=[manager])
    db.session.commit()  # as the office's view does
    return coop


def sell(stand, amount, key):
    return ring_up(stand, [], amount, method="cash", key=key)[0].orders[0]


def join(coop, shop):
    membership = coops.invite(coop, shop, coop.managers[0])
    accepted = coops.accept(membership, shop.owner)
    db.session.commit()
    return accepted


def test_manager_sees_member_sales_only_from_joining(app, client, auth, coop, fair):  # noqa: F811
    stand = fair.stands[0]
    sell(stand, 10_000, "sebelum-gabung-1")
    join(coop, stand.shop)
    after = sell(stand, 25_000, "setelah-gabung-1")
    auth.login("pengelola@contoh.id")
    page = client.get(f"/koperasi/{coop.slug}").get_data(as_text=True)
    assert after.code in page and "Rp25.000" in page and "Rp10.000" not in page
    # Leaving ends it: later sales are not the cooperative's.
    coops.leave(coops.active_membership(stand.shop), stand.shop.owner)
    db.session.commit()
    later = sell(stand, 40_000, "setelah-keluar-1")
    page = client.get(f"/koperasi/{coop.slug}").get_data(as_text=True)
    assert later.code not in page and after.code in page


def test_the_live_list_sends_only_newer_sales(app, client, auth, coop, fair):  # noqa: F811
    stand = fair.stands[0]
    join(coop, stand.shop)
    first = sell(stand, 11_000, "hidup-1")
    auth.login("pengelola@contoh.id")
    headers = {"HX-Request": "true", "HX-Target": "poller"}
    page = client.get(f"/koperasi/{coop.slug}").get_data(as_text=True)
    last = int(page.split('setelah=')[1].split('"')[0])
    assert client.get(f"/koperasi/{coop.slug}/baru?setelah={last}", headers=headers).status_code == 204
    second = sell(stand, 22_000, "hidup-2")
    new = client.get(f"/koperasi/{coop.slug}/baru?setelah={last}", headers=headers)
    text = new.get_data(as_text=True)
    assert new.status_code == 200 and second.code in text and first.code not in text
    assert 'hx-swap-oob="afterbegin:#penjualan-list"' in text


def test_a_shop_is_in_one_cooperative_at_a_time(app, coop, fair):  # noqa: F811
    shop = fair.stands[0].shop
    other = coops.create("Koperasi Lain", "AHU-0009999.AH.01.26", "Benda", "Belendung",
                         UserFactory(roles=["admin"]), managers=[UserFactory()])
    join(coop, shop)
    waiting = coops.invite(other, shop, other.managers[0])
    with pytest.raises(coops.MembershipRefused, match="masih anggota"):
        coops.accept(waiting, shop.owner)
    assert db.session.scalar(select(db.func.count(Membership.id)).where(
        Membership.shop_id == shop.id, Membership.status == "active")) == 1


def test_members_see_cooperative_totals_not_other_members_sales(app, client, auth, coop, fair):  # noqa: F811
    first, second = fair.stands[0], fair.stands[1]
    join(coop, first.shop)
    join(coop, second.shop)
    secret = sell(second, 33_000, "anggota-lain-1")
    auth.login(first.shop.owner.email)
    page = client.get("/penjual/koperasi").get_data(as_text=True)
    assert "Rp33.000" in page and coop.name in page  # the cooperative's total
    assert secret.code not in page
    assert client.get(f"/koperasi/{coop.slug}").status_code == 403


def test_a_shop_asks_to_join_and_a_manager_accepts(app, client, auth, coop, fair):  # noqa: F811
    shop = fair.stands[0].shop
    auth.login(shop.owner.email)
    client.post("/penjual/koperasi", data={"koperasi": coop.id,
                                           "csrf_token": csrf_token(client, "/penjual/koperasi")})
    membership = db.session.scalar(select(Membership))
    assert membership.status == "requested"
    auth.logout()
    auth.login("pengelola@contoh.id")
    url = f"/koperasi/{coop.slug}/anggota/{membership.id}/terima"
    client.post(url, data={"csrf_token": csrf_token(client, f"/koperasi/{coop.slug}")})
    db.session.refresh(membership)
    assert membership.status == "active" and membership.joined_at is not None
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "membership.requested" in actions and "membership.accept" in actions


def test_another_cooperatives_manager_is_refused(app, client, auth, coop, fair):  # noqa: F811
    other_manager = UserFactory(email="lain@contoh.id")
    coops.create("Koperasi Lain", "AHU-0005555.AH.01.26", "Benda", "Belendung",
                 UserFactory(roles=["admin"]), managers=[other_manager])
    membership = coops.invite(coop, fair.stands[0].shop, coop.managers[0])
    db.session.commit()
    auth.login("lain@contoh.id")
    token = csrf_token(client, "/")
    assert client.get(f"/koperasi/{coop.slug}").status_code == 403
    assert client.get(f"/koperasi/{coop.slug}/penjualan.csv").status_code == 403
    assert client.post(f"/koperasi/{coop.slug}/anggota/{membership.id}/tolak",
                       data={"csrf_token": token}).status_code == 403


def test_observer_reads_and_cannot_act(app, client, auth, coop, fair):  # noqa: F811
    UserFactory(email="auditor@contoh.id", roles=["observer"])
    membership = coops.invite(coop, fair.stands[0].shop, coop.managers[0])
    db.session.commit()
    auth.login("auditor@contoh.id")
    page = client.get(f"/koperasi/{coop.slug}").get_data(as_text=True)
    assert "Undang toko" not in page and "Batalkan undangan" not in page and "Keluarkan" not in page
    token = csrf_token(client, "/")
    assert client.post(f"/koperasi/{coop.slug}/anggota/{membership.id}/tolak",
                       data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/koperasi", data={"name": "X", "csrf_token": token}).status_code == 403


def test_office_registers_a_cooperative(app, client, auth):
    UserFactory(email="dinas@contoh.id", roles=["organizer"])
    UserFactory(email="ketua@contoh.id")
    auth.login("dinas@contoh.id")
    data = {"name": "Koperasi Situ", "legal_number": "AHU-777", "kecamatan": "Cipondoh",
            "kelurahan": "Benda", "managers": "ketua@contoh.id",
            "csrf_token": csrf_token(client, "/admin/koperasi")}
    wrong_place = client.post("/admin/koperasi", data=data)
    assert wrong_place.status_code == 422 and "Kelurahan ini tidak ada" in wrong_place.get_data(as_text=True)
    made = client.post("/admin/koperasi", data={**data, "kelurahan": "Ketapang"})
    assert made.status_code == 303
    coop = db.session.scalar(select(Cooperative))
    assert [m.email for m in coop.managers] == ["ketua@contoh.id"]
    assert coop.managers[0].has_role("coop_manager")
    again = client.post("/admin/koperasi", data={**data, "kelurahan": "Ketapang", "name": "Lagi"})
    assert again.status_code == 409 and "sudah terdaftar" in again.get_data(as_text=True)
