"""The city office: verification, the audit log, categories, roles, and the read-only observer."""

import csv
import io
import re
from datetime import timedelta

import pytest
from flask import url_for
from openpyxl import load_workbook
from sqlalchemy import func, select

from storefront import audit
from storefront.catalogue.models import Category
from storefront.exhibitions.models import Fair, Stand
from storefront.extensions import db
from storefront.indexing.models import SearchOutbox
from storefront.ledger.models import AuditEntry
from storefront.timeutil import utcnow
from tests.factories import CategoryFactory, ProductFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token, sync_search

EMAILS = {"admin": "admin@dinas.id", "organizer": "panitia@dinas.id",
          "observer": "auditor@bpk.id", "seller": "penjual@contoh.id",
          "shopper": "pembeli@contoh.id"}


@pytest.fixture
def people(app):
    made = {role: UserFactory(email=email, name=f"Bu {role.title()}",
                              roles=[role] if role != "seller" else ["shopper", "seller"])
            for role, email in EMAILS.items()}
    ShopFactory(owner=made["seller"], name="Dapur Penjual", slug="dapur-penjual")
    return made


@pytest.fixture
def login(auth, people):
    def as_role(role):
        auth.logout()
        auth.login(EMAILS[role])
        return people[role]
    return as_role


def post(client, url, data=None, page="/"):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client, page)})


def entries(action=None) -> list[AuditEntry]:
    statement = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        statement = statement.where(AuditEntry.action == action)
    db.session.expire_all()
    return list(db.session.scalars(statement))


def text(response) -> str:
    return response.get_data(as_text=True)


# --- who may open what -------------------------------------------------------------------

READ_PAGES = ["/admin/verifikasi", "/admin/pencarian", "/admin/audit", "/admin/audit.csv",
              "/admin/audit.xlsx", "/admin/kategori", "/admin/pengguna"]
ADMIN_ONLY = {"/admin/pengguna"}


@pytest.mark.parametrize("role", ["admin", "organizer", "observer", "seller", "shopper", None])
def test_who_may_read_the_office_pages(client, login, role):
    if role:
        login(role)
    for page in READ_PAGES:
        status = client.get(page).status_code
        if role is None:
            expected = 302  # to the login page
        elif role in ("seller", "shopper"):
            expected = 403
        elif page in ADMIN_ONLY:
            expected = 200 if role == "admin" else 403
        else:
            expected = 200
        assert status == expected, (page, role)


# Every route of the office and the fairs that changes something, with made-up ids:
# the role check comes before any lookup, so an observer never learns whether they exist.
ARGS = {"shop_id": 1, "category_id": 1, "user_id": 1, "role": "seller", "direction": "naik",
        "slug": "pameran", "code": "A-01", "switch": "nonaktifkan", "stray": 1, "order": "P-1",
        "key_id": 1, "subscription_id": 1}


def changing_routes(app) -> list[str]:
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.split(".")[0] in ("admin", "exhibitions") and "POST" in rule.methods:
                urls.append(url_for(rule.endpoint, **{a: ARGS[a] for a in rule.arguments}))
    return urls


def test_the_office_has_changing_routes_to_guard(app):
    routes = changing_routes(app)
    assert {"/admin/verifikasi/1/setujui", "/admin/kategori", "/admin/pengguna/1/peran",
            "/pameran/baru", "/pameran/pameran/stan"} <= set(routes)
    assert not any(r.startswith("/admin/audit") for r in routes)  # the log is never changed


@pytest.mark.parametrize("role", ["observer", "seller", "shopper", None])
def test_every_changing_route_refuses_who_may_not_change(client, login, app, role):
    if role:
        login(role)
    for url in changing_routes(app):
        response = post(client, url, {"name": "Coba", "reason": "coba", "role": "admin",
                                      "zone": "A", "count": 1})
        assert response.status_code == (403 if role else 302), (url, role)
    assert entries() == []


def test_roles_are_for_the_admin_alone(client, login, people):
    login("organizer")
    target = people["shopper"]
    assert post(client, f"/admin/pengguna/{target.id}/peran", {"role": "admin"}).status_code == 403
    assert post(client, f"/admin/pengguna/{target.id}/peran/shopper/cabut").status_code == 403
    db.session.refresh(target)
    assert target.role_names == {"shopper"}


def test_an_observer_sees_no_button_that_changes_anything(client, login, app):
    ShopFactory(status="pending", name="Toko Menunggu")
    CategoryFactory(name="Makanan")
    db.session.add(SearchOutbox(product_id=1, attempts=2, last_error="timeout"))
    db.session.commit()
    login("observer")
    for page in ("/admin/verifikasi", "/admin/kategori", "/admin/pencarian", "/admin/audit"):
        body = text(client.get(page))
        assert "hanya bisa dibaca" in body, page
        assert body.count('method="post"') == 2, page  # signing out and the language only
    assert "Toko Menunggu" in text(client.get("/admin/verifikasi"))
    assert 'href="/admin/audit"' in text(client.get("/"))  # the way in, from the menu
    login("organizer")
    assert 'action="/admin/verifikasi/' in text(client.get("/admin/verifikasi"))
    assert 'action="/admin/pencarian/ulangi"' in text(client.get("/admin/pencarian"))


# --- verification ------------------------------------------------------------------------

def test_reject_fix_resubmit_approve_all_in_the_log(client, login, auth, people):
    seller = UserFactory(email="ijah@contoh.id", roles=["shopper", "seller"])
    shop = ShopFactory(owner=seller, name="Dapur Mak Ijah", slug="dapur-mak-ijah", status="pending",
                       description="Keripik singkong rumahan", owner_name="Ijah", address="Jl. Situ 5",
                       whatsapp="+6281234567890")
    ProductFactory(shop=shop, status="draft")
    login("organizer")
    queue = text(client.get("/admin/verifikasi"))
    assert "Keripik singkong rumahan" in queue and "ijah@contoh.id" in queue
    assert re.search(r"Produk disiapkan</dt><dd>1<", queue)

    response = post(client, f"/admin/verifikasi/{shop.id}/tolak", {"reason": "Foto KTP buram"},
                    "/admin/verifikasi")
    assert response.status_code == 303
    assert "Foto KTP buram" in text(client.get("/admin/verifikasi"))  # among the rejected

    auth.logout()  # the seller reads why, fixes the data and saves: that is the re-submission
    auth.login("ijah@contoh.id")
    page = text(client.get("/penjual/toko"))
    assert "belum disetujui" in page and "Foto KTP buram" in page
    fixed = {"name": "Dapur Mak Ijah", "type": "umkm", "owner_name": "Ijah Rohayati",
             "whatsapp": "0812-3456-7890", "kecamatan": "Cipondoh", "kelurahan": "Ketapang",
             "address": "Jl. Situ Cipondoh No. 5", "description": "Keripik rumahan", "nib": ""}
    post(client, "/penjual/toko", fixed, "/penjual/toko")
    assert "diajukan ulang" in text(client.get("/penjual/toko"))
    db.session.refresh(shop)
    assert shop.status == "pending"

    login("admin")
    queue = text(client.get("/admin/verifikasi"))
    assert "Diajukan ulang setelah ditolak" in queue and "Foto KTP buram" in queue
    assert post(client, f"/admin/verifikasi/{shop.id}/setujui", {}, "/admin/verifikasi").status_code == 303
    assert client.get("/toko/dapur-mak-ijah").status_code == 200

    rejected, verified = entries("shop.reject"), entries("shop.verify")
    assert rejected[0].actor.email == EMAILS["organizer"] and rejected[0].object_id == str(shop.id)
    assert rejected[0].before == {"status": "pending", "rejection_reason": None}
    assert rejected[0].after == {"status": "rejected", "rejection_reason": "Foto KTP buram"}
    assert verified[0].actor.email == EMAILS["admin"]
    assert verified[0].before == {"status": "pending", "rejection_reason": "Foto KTP buram"}
    assert verified[0].after == {"status": "verified", "rejection_reason": None}


def test_a_shop_already_decided_is_not_decided_again(client, login):
    shop = ShopFactory(status="verified", name="Toko Sudah")
    login("admin")
    for action, data in (("setujui", {}), ("tolak", {"reason": "Terlambat"})):
        response = post(client, f"/admin/verifikasi/{shop.id}/{action}", data, "/admin/verifikasi")
        assert response.status_code == 409 and "sudah diputuskan" in text(response)
    db.session.refresh(shop)
    assert shop.status == "verified" and entries() == []
    assert post(client, "/admin/verifikasi/9999/setujui", {}, "/admin/verifikasi").status_code == 404


def test_rejecting_needs_a_reason_next_to_the_field(client, login):
    shop = ShopFactory(status="pending")
    login("organizer")
    response = post(client, f"/admin/verifikasi/{shop.id}/tolak", {"reason": "  "}, "/admin/verifikasi")
    assert response.status_code == 422
    assert re.search(r'id="reason-error">Tulis alasannya', text(response))
    assert entries() == []


def test_the_command_line_is_logged_too(runner, app):
    shop = ShopFactory(status="pending", slug="toko-cli")
    result = runner.invoke(args=["shop-verify", "toko-cli", "--reject", "NIB salah"])
    assert result.exit_code == 0
    runner.invoke(args=["shop-verify", "toko-cli"])
    rejected, verified = entries()
    assert (rejected.action, rejected.actor_id, rejected.note) == ("shop.reject", None, "flask shop-verify")
    assert verified.action == "shop.verify" and verified.object_id == str(shop.id)


# --- fairs in the log --------------------------------------------------------------------

def test_fair_changes_are_logged(client, login):
    shop = ShopFactory(name="Koperasi Cimone", slug="koperasi-cimone")
    login("organizer")
    fair_form = {"name": "Pameran Cisadane", "venue": "Taman Cisadane", "starts_on": "2026-12-05",
                 "ends_on": "2026-12-06", "opens_at": "09:00", "closes_at": "21:00"}
    assert post(client, "/pameran/baru", fair_form, "/pameran/baru").status_code == 303
    fair = db.session.scalar(select(Fair))
    url = f"/pameran/{fair.slug}"
    post(client, f"{url}/stan", {"zone": "A", "first": 1, "count": 3}, url)
    post(client, f"{url}/stan/A-02/toko", {"shop_id": shop.id}, url)
    post(client, f"{url}/stan/A-02/toko", {"shop_id": ""}, url)
    created, stands, assigned, freed = entries()
    assert created.action == "fair.create" and created.object_type == "fair"
    assert created.after["name"] == "Pameran Cisadane" and created.after["starts_on"] == "2026-12-05"
    assert stands.action == "fair.add_stands" and stands.after == {"zone": "A", "count": 3,
                                                                     "first": "A-01", "last": "A-03"}
    stand = db.session.scalar(select(Stand).where(Stand.code == "A-02"))
    assert assigned.action == "stand.assign" and assigned.object_id == str(stand.id)
    assert assigned.before == {"shop_id": None, "shop": None}
    assert assigned.after == {"shop_id": shop.id, "shop": "koperasi-cimone"}
    assert freed.before == assigned.after and freed.after == {"shop_id": None, "shop": None}
    assert {e.actor.email for e in entries()} == {EMAILS["organizer"]}


# --- the audit log page ------------------------------------------------------------------

@pytest.fixture
def log(app, people):
    shop = ShopFactory(name="Toko Log", slug="toko-log")
    category = CategoryFactory(name="Kerajinan")
    long_ago = utcnow() - timedelta(days=40)
    for n in range(55):
        audit.record(people["admin"], "shop.verify", shop, before={"status": "pending"},
                     after={"status": "verified"}, note=f"ke-{n}")
    audit.record(people["organizer"], "category.rename", category, before={"name": "Kriya"},
                 after={"name": "Kerajinan"}).at = long_ago
    db.session.commit()
    return shop, category


def test_the_log_newest_first_in_pages(client, login, log):
    login("observer")
    first = text(client.get("/admin/audit"))
    assert "56 catatan" in first
    assert first.index("ke-54") < first.index("ke-53")
    assert "ke-4<" not in first and "Lebih lama" in first
    second = text(client.get("/admin/audit?hal=2"))
    assert "ke-4<" in second and "ke-0<" in second and "Kriya" in second
    assert client.get("/admin/audit?hal=abc").status_code == 200  # a bad page number: the first


@pytest.mark.parametrize("query, count", [
    ("aksi=category.rename", 1),
    ("aksi=shop.verify", 55),
    ("pelaku=PANITIA@dinas", 1),  # part of the email, any case
    ("pelaku=nobody%25", 0),  # % is a character here, not a wildcard
    ("objek=category", 1),
    ("objek=shop&pelaku=admin@", 55),
])
def test_the_log_filters(client, login, log, query, count):
    login("organizer")
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    assert f"{count} catatan" in text(response)


def test_the_log_filters_by_date_in_jakarta(client, login, log):
    login("admin")
    today = (utcnow() + timedelta(hours=7)).date()
    assert "55 catatan" in text(client.get(f"/admin/audit?dari={today}&sampai={today}"))
    old = today - timedelta(days=40)
    body = text(client.get(f"/admin/audit?dari={old - timedelta(days=1)}&sampai={old}"))
    assert "1 catatan" in body and "Kriya" in body


@pytest.mark.parametrize("query, field, message", [
    ("dari=besok", "dari", "Tanggal tidak valid"),
    ("dari=2026-03-10&sampai=2026-03-01", "sampai", "tidak boleh sebelum tanggal awal"),
    ("aksi=hapus.semua", "aksi", "Pilihan tidak valid"),
    ("objek=rahasia", "objek", "Pilihan tidak valid"),
])
def test_bad_filters_are_explained_next_to_the_field(client, login, log, query, field, message):
    login("admin")
    for url in ("/admin/audit", "/admin/audit.csv"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 422
        assert re.search(rf'id="{field}-error">[^<]*{message}', text(response)), url


def test_the_log_exports_what_is_filtered(client, login, log):
    shop, category = log
    login("observer")
    response = client.get("/admin/audit.csv?objek=category")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0] == ["waktu", "pelaku", "aksi", "jenis_objek", "id_objek", "sebelum", "sesudah",
                       "catatan"]
    assert rows[1][1:5] == [EMAILS["organizer"], "category.rename", "category", str(category.id)]
    assert rows[1][5] == '{"name": "Kriya"}' and rows[1][6] == '{"name": "Kerajinan"}'
    assert len(rows) == 2
    everything = client.get("/admin/audit.xlsx")
    sheet = load_workbook(io.BytesIO(everything.data)).active
    values = list(sheet.values)
    assert len(values) == 57 and values[1][2] == "shop.verify" and values[1][7] == "ke-54"
    assert client.get("/admin/audit.pdf").status_code == 404


def test_what_the_office_did_today_is_in_the_export(client, login, people):
    shop = ShopFactory(status="pending")
    login("admin")
    post(client, f"/admin/verifikasi/{shop.id}/setujui", {}, "/admin/verifikasi")
    post(client, "/admin/kategori", {"name": "Batik"}, "/admin/kategori")
    post(client, f"/admin/pengguna/{people['shopper'].id}/peran", {"role": "observer"}, "/admin/pengguna")
    post(client, "/pameran/baru", {"name": "Pameran Kota", "venue": "Alun-alun", "starts_on": "2026-08-17",
                                   "ends_on": "2026-08-17", "opens_at": "08:00", "closes_at": "17:00"},
         "/pameran/baru")
    rows = list(csv.reader(io.StringIO(text(client.get("/admin/audit.csv")).lstrip("\ufeff"))))
    assert [row[2] for row in rows[1:]] == ["fair.create", "user.role_grant", "category.create",
                                            "shop.verify"]  # newest first
    assert {row[1] for row in rows[1:]} == {EMAILS["admin"]}
    page = text(client.get("/admin/audit"))
    assert "Toko diverifikasi" in page and "Peran diberikan" in page and "Pameran Kota" in page


def test_the_log_cannot_be_changed_through_the_app(client, login, log):
    login("admin")
    entry = entries()[0]
    for method in ("post", "put", "patch", "delete"):
        for url in ("/admin/audit", f"/admin/audit/{entry.id}"):
            assert getattr(client, method)(url).status_code in (404, 405)
    assert len(entries()) == 56


# --- categories --------------------------------------------------------------------------

@pytest.fixture
def tree(app):
    makanan = CategoryFactory(name="Makanan", slug="makanan", position=0)
    minuman = CategoryFactory(name="Minuman", slug="minuman", position=1)
    kerajinan = CategoryFactory(name="Kerajinan", slug="kerajinan", position=2)
    keripik = CategoryFactory(name="Keripik", slug="keripik", parent=makanan, position=0)
    kue = CategoryFactory(name="Kue", slug="kue", parent=makanan, position=1)
    return makanan, minuman, kerajinan, keripik, kue


def test_the_tree_in_its_order(client, login, tree):
    login("organizer")
    body = text(client.get("/admin/kategori"))
    positions = [body.index(f"<strong hx-disable>{name}</strong>") for name in
                 ("Makanan", "Keripik", "Kue", "Minuman", "Kerajinan")]
    assert positions == sorted(positions)


def test_add_top_and_child_categories(client, login, tree):
    makanan = tree[0]
    login("organizer")
    assert post(client, "/admin/kategori", {"name": " Batik & Tenun "}, "/admin/kategori").status_code == 303
    post(client, "/admin/kategori", {"name": "Sambal", "parent": makanan.id}, "/admin/kategori")
    post(client, "/admin/kategori", {"name": "Kue", "parent": ""}, "/admin/kategori")  # top "Kue"
    batik = db.session.scalar(select(Category).where(Category.name == "Batik & Tenun"))
    sambal = db.session.scalar(select(Category).where(Category.name == "Sambal"))
    kue_top = db.session.scalar(select(Category).where(Category.name == "Kue", Category.parent_id.is_(None)))
    assert (batik.slug, batik.parent_id, batik.position) == ("batik-tenun", None, 3)
    assert (sambal.slug, sambal.parent_id, sambal.position) == ("sambal", makanan.id, 2)
    assert kue_top.slug == "kue-2"  # slugs are unique across the tree
    created = entries("category.create")
    assert created[0].after == {"name": "Batik & Tenun", "slug": "batik-tenun", "parent_id": None,
                                "position": 3}
    assert created[0].before is None and created[0].actor.email == EMAILS["organizer"]


@pytest.mark.parametrize("data, message", [
    ({"name": ""}, "Wajib diisi"),
    ({"name": "x" * 81}, "Paling banyak 80 karakter"),
    ({"name": "keripik", "parent": "MAKANAN"}, "Sudah ada kategori bernama ini"),
    ({"name": "Sambal", "parent": "9999"}, "Pilihan tidak valid"),
])
def test_bad_category_input_is_explained(client, login, tree, data, message):
    makanan = tree[0]
    if data.get("parent") == "MAKANAN":
        data = {**data, "parent": makanan.id}
    login("admin")
    response = post(client, "/admin/kategori", data, "/admin/kategori")
    body = text(response)
    field = "parent" if "Pilihan" in message else "name"
    assert response.status_code == 422 and re.search(rf'id="{field}-error">[^<]*{message}', body)
    assert db.session.scalar(select(func.count(Category.id))) == 5 and entries() == []


def test_rename_keeps_the_slug_and_the_catalogue_shows_it_at_once(client, login, tree):
    minuman = tree[1]
    ProductFactory(category=minuman, name="Es Kelapa Muda")
    assert "Minuman" in text(client.get("/"))  # cached per catalogue version
    login("organizer")
    response = post(client, f"/admin/kategori/{minuman.id}/nama", {"name": "Minuman Segar"},
                    "/admin/kategori")
    assert response.status_code == 303
    db.session.refresh(minuman)
    assert (minuman.name, minuman.slug) == ("Minuman Segar", "minuman")
    assert "Minuman Segar" in text(client.get("/"))
    sync_search()  # the products of a renamed category are found by its new name
    assert "Es Kelapa Muda" in text(client.get("/katalog?q=segar"))
    (renamed,) = entries("category.rename")
    assert renamed.before["name"] == "Minuman" and renamed.after["name"] == "Minuman Segar"
    taken = post(client, f"/admin/kategori/{minuman.id}/nama", {"name": "Makanan"}, "/admin/kategori")
    assert taken.status_code == 422 and re.search(r'id="name-error">Sudah ada kategori', text(taken))
    empty = post(client, f"/admin/kategori/{minuman.id}/nama", {"name": ""}, "/admin/kategori")
    assert empty.status_code == 422 and 'id="nama-%d"' % minuman.id in text(empty)


def test_move_up_and_down_without_reindexing_products(client, login, tree):
    makanan, minuman, kerajinan, keripik, kue = tree
    ProductFactory(category=keripik)
    db.session.execute(SearchOutbox.__table__.delete())
    db.session.commit()
    login("organizer")
    post(client, f"/admin/kategori/{kerajinan.id}/naik", {}, "/admin/kategori")
    post(client, f"/admin/kategori/{kue.id}/naik", {}, "/admin/kategori")
    post(client, f"/admin/kategori/{makanan.id}/naik", {}, "/admin/kategori")  # already first
    db.session.expire_all()
    tops = db.session.scalars(select(Category.name).where(Category.parent_id.is_(None))
                              .order_by(Category.position)).all()
    assert tops == ["Makanan", "Kerajinan", "Minuman"]
    assert [c.name for c in makanan.children] == ["Kue", "Keripik"]
    moved = entries("category.move")
    assert len(moved) == 2 and moved[0].before["position"] == 2 and moved[0].after["position"] == 1
    assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
    post(client, f"/admin/kategori/{kerajinan.id}/turun", {}, "/admin/kategori")
    assert [e.after["position"] for e in entries("category.move")] == [1, 0, 2]


def test_a_category_in_use_is_not_deleted(client, login, tree):
    makanan, minuman, kerajinan, keripik, kue = tree
    ProductFactory(category=keripik, status="archived")
    login("admin")
    used = post(client, f"/admin/kategori/{keripik.id}/hapus", {}, "/admin/kategori")
    assert used.status_code == 409 and "masih dipakai 1 produk" in text(used)
    parent = post(client, f"/admin/kategori/{makanan.id}/hapus", {}, "/admin/kategori")
    assert parent.status_code == 409 and "masih punya 2 subkategori" in text(parent)
    assert post(client, f"/admin/kategori/{kue.id}/hapus", {}, "/admin/kategori").status_code == 303
    assert db.session.scalar(select(Category.id).where(Category.id == kue.id)) is None
    (deleted,) = entries("category.delete")
    assert deleted.before["slug"] == "kue" and deleted.after is None
    assert post(client, "/admin/kategori/9999/hapus", {}, "/admin/kategori").status_code == 404


# --- roles -------------------------------------------------------------------------------

def test_find_people_by_email_or_name(client, login, people):
    UserFactory(email="siti@koperasi.id", name="Siti Aminah")
    login("admin")
    listed = text(client.get("/admin/pengguna"))
    assert EMAILS["organizer"] in listed and EMAILS["shopper"] not in listed  # staff by default
    assert "siti@koperasi.id" in text(client.get("/admin/pengguna?q=aminah"))
    assert "siti@koperasi.id" in text(client.get("/admin/pengguna?q=KOPERASI"))
    assert "siti@koperasi.id" not in text(client.get("/admin/pengguna?q=_"))
    too_long = client.get("/admin/pengguna?q=" + "a" * 300)
    assert too_long.status_code == 422 and re.search(r'id="q-error">Paling banyak', text(too_long))


def test_grant_and_revoke_roles_logged_with_before_and_after(client, login, people):
    target = people["shopper"]
    login("admin")
    page = f"/admin/pengguna?q={target.email}"
    assert post(client, f"/admin/pengguna/{target.id}/peran", {"role": "observer"}, page).status_code == 303
    post(client, f"/admin/pengguna/{target.id}/peran", {"role": "observer"}, page)  # again: nothing new
    post(client, f"/admin/pengguna/{target.id}/peran/shopper/cabut", {}, page)
    db.session.refresh(target)
    assert target.role_names == {"observer"}
    granted, revoked = entries()
    assert (granted.action, granted.object_type, granted.object_id) == ("user.role_grant", "user", str(target.id))
    assert granted.before == {"roles": ["shopper"]} and granted.after == {"roles": ["observer", "shopper"]}
    assert revoked.action == "user.role_revoke" and revoked.after == {"roles": ["observer"]}
    login("shopper")
    assert client.get("/admin/audit").status_code == 200  # the new role counts at once


@pytest.mark.parametrize("role, message", [("", "Pilih peran"), ("superuser", "Pilihan tidak valid")])
def test_a_bad_role_is_explained_next_to_the_field(client, login, people, role, message):
    target = people["shopper"]
    login("admin")
    response = post(client, f"/admin/pengguna/{target.id}/peran", {"role": role}, "/admin/pengguna")
    assert response.status_code == 422 and re.search(rf'id="role-error">{message}', text(response))
    assert entries() == []


def test_an_admin_keeps_their_own_admin_role(client, login, people):
    admin = login("admin")
    response = post(client, f"/admin/pengguna/{admin.id}/peran/admin/cabut", {}, "/admin/pengguna")
    assert response.status_code == 409 and "peran admin Anda sendiri" in text(response)
    db.session.refresh(admin)
    assert "admin" in admin.role_names and entries() == []
    other = UserFactory(email="admin2@dinas.id", roles=["admin"])
    assert post(client, f"/admin/pengguna/{other.id}/peran/admin/cabut", {}, "/admin/pengguna").status_code == 303
    assert post(client, f"/admin/pengguna/{other.id}/peran/raja/cabut", {}, "/admin/pengguna").status_code == 404
    assert post(client, "/admin/pengguna/9999/peran", {"role": "admin"}, "/admin/pengguna").status_code == 404
