"""Demo data: shops over all 13 kecamatan, categories, products and pictures.

Products are written with bulk inserts so that 100,000 of them take seconds,
not minutes; the search index is then rebuilt in one pass.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import insert, select, text

from ..accounts.models import User, UserRole, new_session_token
from ..accounts.passwords import hash_password
from ..catalogue.models import Product, ProductImage, Shop, StockAdjustment
from ..cooperatives.models import Cooperative, Membership
from ..exhibitions.models import Fair, Stand, StandItem
from ..exhibitions.services import stand_codes
from ..extensions import db
from ..media import store_picture
from ..places import KELURAHAN_BY_KECAMATAN
from ..slugs import slugify
from ..timeutil import today_in_jakarta, utcnow
from .catalogue_data import (
    CATEGORIES,
    COOPERATIVES,
    DESCRIPTIONS,
    SHOP_OWNERS,
    SHOP_THEMES,
    SHOP_WORDS,
)

DEMO_PASSWORD = "gerai-demo-2026"
PALETTE = ["#c0392b", "#d35400", "#f39c12", "#16a085", "#27ae60", "#2980b9", "#8e44ad",
           "#6d4c41", "#2c3e50", "#b03a5b"]
CHUNK = 5000


def database_is_empty() -> bool:
    return db.session.scalar(select(Product.id).limit(1)) is None


def draw_picture(title: str, subtitle: str, color: str, seed: int) -> Image.Image:
    """A product-shot stand-in: a coloured scene with simple shapes and the name."""
    rng = random.Random(seed)
    size = 720
    image = Image.new("RGB", (size, size), color)
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(size), rng.randrange(size)
        r = rng.randrange(30, 140)
        shade = tuple(min(255, int(c * rng.uniform(0.75, 1.35)))
                      for c in Image.new("RGB", (1, 1), color).getpixel((0, 0)))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=shade)
    draw.rounded_rectangle((60, 430, size - 60, 640), radius=28, fill=(255, 253, 248))
    font_big = ImageFont.load_default(size=54)
    font_small = ImageFont.load_default(size=34)
    draw.text((size // 2, 505), title, fill=(29, 29, 27), font=font_big, anchor="mm")
    draw.text((size // 2, 580), subtitle, fill=(92, 92, 87), font=font_small, anchor="mm")
    return image


def _categories() -> dict[str, tuple[int, tuple[int, int], list]]:
    """The tree (the reference one: seed-reference may have made it already); returns
    leaf slug -> (id, price range, product bases, name)."""
    from ..reference import ensure_categories

    made = ensure_categories()
    return {leaf_slug: (made[leaf_slug].id, prices, bases, leaf_name)
            for _name, _slug, children in CATEGORIES
            for leaf_name, leaf_slug, prices, bases in children}


def _user(name: str, email: str, roles: list[str], password_hash: str) -> User:
    user = User(name=name, email=email, password_hash=password_hash,
                session_token=new_session_token())
    user.roles = [UserRole(role=r) for r in roles]
    db.session.add(user)
    return user


def _shops(rng: random.Random, count: int, password_hash: str) -> list[Shop]:
    shops = []
    kecamatan_names = list(KELURAHAN_BY_KECAMATAN)
    used = set()
    for i in range(count):
        kecamatan = kecamatan_names[i % len(kecamatan_names)]  # every kecamatan has shops
        kelurahan = rng.choice(KELURAHAN_BY_KECAMATAN[kecamatan])
        koperasi = i % 6 == 5
        if koperasi:
            name = f"{rng.choice(COOPERATIVES)} {kelurahan}"
        else:
            name = f"{rng.choice(SHOP_WORDS)} {rng.choice(SHOP_OWNERS)} {rng.choice(SHOP_THEMES)}"
        # Thousands of shops run out of word combinations: number the repeats.
        base, n = name, 1
        while name in used:
            n += 1
            name = f"{base} {n}"
        used.add(name)
        owner = _user(f"Pemilik {name}", f"penjual{i + 1}@gerai.test", ["shopper", "seller"],
                      password_hash)
        shop = Shop(owner=owner, name=name, slug=slugify(name), type="koperasi" if koperasi else "umkm",
                    kecamatan=kecamatan, kelurahan=kelurahan,
                    # a few shops wait for the city office: their products stay hidden
                    verified=i % 20 != 19,
                    delivery_fee=rng.choice([None, 8_000, 10_000, 12_000, 15_000]),
                    description=f"{'Koperasi' if koperasi else 'Usaha'} dari Kelurahan {kelurahan}, "
                                f"Kecamatan {kecamatan}, Kota Tangerang.")
        db.session.add(shop)
        shops.append(shop)
    db.session.flush()
    return shops


class _Pictures:
    """Pictures drawn on first use: one per product kind, one packaging shot per category."""

    def __init__(self, rng: random.Random, media_root: Path | None):
        self._rng, self._root, self._made = rng, media_root, {}

    def _get(self, title: str, subtitle: str):
        if (title, subtitle) not in self._made:
            image = draw_picture(title, subtitle, PALETTE[self._rng.randrange(len(PALETTE))],
                                 seed=self._rng.randrange(1 << 30))
            self._made[(title, subtitle)] = store_picture(image, self._root)
        return self._made[(title, subtitle)]

    def for_product(self, base: str, leaf_name: str) -> list:
        return [self._get(base, "Produk lokal Tangerang"), self._get(leaf_name, "Kemasan rapi")]


def seed(products: int = 640, shops: int | None = None,
         progress: Callable[[int], None] | None = None, media_root: Path | None = None,
         seed_value: int = 2026) -> dict[str, int]:
    rng = random.Random(seed_value)
    shop_count = shops or max(45, min(2000, products // 14))
    password_hash = hash_password(DEMO_PASSWORD)
    leaves = _categories()
    from ..reference import ensure_regions

    ensure_regions()
    _user("Pembeli Demo", "pembeli@gerai.test", ["shopper"], password_hash)
    _user("Admin Dinas Koperasi", "admin@gerai.test", ["admin", "organizer"], password_hash)
    _user("Pengelola Koperasi", "koperasi@gerai.test", ["coop_manager"], password_hash)
    shop_rows = _shops(rng, shop_count, password_hash)
    pictures = _Pictures(rng, media_root)
    shop_ids = [(s.id, s.name, s.kecamatan, s.kelurahan) for s in shop_rows]
    db.session.commit()

    leaf_items = list(leaves.items())
    now = utcnow()
    made = 0
    next_id = (db.session.scalar(select(db.func.max(Product.id))) or 0) + 1
    while made < products:
        batch = min(CHUNK, products - made)
        product_rows, image_rows = [], []
        for _ in range(batch):
            shop_id, shop_name, kecamatan, kelurahan = rng.choice(shop_ids)
            leaf_slug, (leaf_id, (low, high), bases, leaf_name) = rng.choice(leaf_items)
            base, variations = rng.choice(bases)
            name = f"{base} {rng.choice(variations)}"
            price = rng.randrange(low, high + 1, 500)
            product_id = next_id
            next_id += 1
            product_rows.append({
                "id": product_id, "shop_id": shop_id, "category_id": leaf_id, "name": name,
                "slug": slugify(name),
                "description": rng.choice(DESCRIPTIONS).format(
                    owner=shop_name, shop=shop_name, kecamatan=kecamatan, kelurahan=kelurahan),
                "price": price,
                "stock": 0 if rng.random() < 0.08 else rng.randrange(1, 200),
                "status": "draft" if rng.random() < 0.03 else "active",
                "created_at": now - timedelta(minutes=rng.randrange(0, 60 * 24 * 120)),
                "updated_at": now,
            })
            for position, picture in enumerate(pictures.for_product(base, leaf_name)):
                image_rows.append({"product_id": product_id, "position": position, "key": picture.key,
                                   "alt": name, "width": picture.width, "height": picture.height})
        db.session.execute(insert(Product), product_rows)
        # The opening count is the first line of each product's stock history.
        db.session.execute(insert(StockAdjustment), [
            {"product_id": row["id"], "change": row["stock"], "stock_after": row["stock"],
             "reason": "restock", "note": "Stok awal (data demo)", "created_at": now}
            for row in product_rows if row["stock"]])
        db.session.execute(insert(ProductImage), image_rows)
        db.session.commit()
        made += batch
        if progress:
            progress(batch)
    _sequence_past(Product)
    _fair()
    _cooperative()
    return {"shops": shop_count, "products": made}


def _sequence_past(model) -> None:
    """Rows inserted with their own ids leave PostgreSQL's id sequence behind them: the
    first product a seller then adds would take id 1 again (a unique violation, a 500)."""
    if db.engine.dialect.name != "postgresql":
        return
    table = model.__table__.name
    db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                            f'(SELECT max(id) FROM "{table}"))'))
    db.session.commit()


def _cooperative() -> None:
    """One cooperative, managed by the demo manager, with a few verified shops as members."""
    manager = db.session.scalar(select(User).where(User.email == "koperasi@gerai.test"))
    coop = Cooperative(name="Koperasi UMKM Cipondoh Maju", slug="koperasi-umkm-cipondoh-maju",
                       legal_number="AHU-0012026.AH.01.26", kecamatan="Cipondoh",
                       kelurahan="Ketapang", managers=[manager])
    db.session.add(coop)
    db.session.flush()
    members = db.session.scalars(select(Shop.id).where(Shop.verified).order_by(Shop.id)
                                 .limit(6)).all()
    joined = utcnow() - timedelta(days=30)
    db.session.add_all(Membership(cooperative_id=coop.id, shop_id=shop_id, status="active",
                                  joined_at=joined, created_at=joined) for shop_id in members)
    db.session.commit()
    _coop_members(coop, manager)


def _coop_members(coop: Cooperative, manager: User) -> None:
    """A few people in its member register (the demo shopper among them, to sign in as):
    three months of bills, payments at the office, a loan from the revolving fund."""
    from ..members import services as members

    today = today_in_jakarta()
    start = (today.replace(day=1) - timedelta(days=80)).replace(day=1)
    shopper = db.session.scalar(select(User).where(User.email == "pembeli@gerai.test"))
    people = [("Pembeli Demo", "0812 1111 0001", shopper), ("Siti Aminah", "0812 1111 0002", None),
              ("Budi Santoso", "0812 1111 0003", None), ("Dewi Lestari", "0812 1111 0004", None),
              ("Ahmad Fauzi", "0812 1111 0005", None)]
    registered = [members.register(coop, name=name, phone=phone.replace(" ", ""), user=user,
                                   email=user.email if user else None, kelurahan="Ketapang",
                                   joined_on=start, actor=manager)
                  for name, phone, user in people]
    loan = members.apply_for_loan(registered[0], 3_000_000, 12, "Modal warung sembako")
    members.decide_loan(loan, True, manager, revolving=True)
    members.disburse(loan, manager, on=start)
    month = start
    while month <= today:
        members.bill_run(coop.id, month, today=today)
        for member in registered[1:4]:  # most pay at the office each month; one is late
            owed = members.open_total(member.id)
            if owed and member is not registered[3]:
                members.record_cash(member, owed, manager)
        month = (month + timedelta(days=32)).replace(day=1)
    members.deposit(registered[1], 200_000, manager)
    db.session.commit()


def _fair() -> None:
    """A fair on today, 130 stands (as at Situ Cipondoh), verified shops on the first ones
    with a few of their products each: the stand screens and the dashboard have something."""
    today = today_in_jakarta()
    fair = Fair(name="Pameran UMKM Situ Cipondoh", slug="pameran-umkm-situ-cipondoh",
                venue="Taman Situ Cipondoh", starts_on=today, ends_on=today + timedelta(days=2))
    db.session.add(fair)
    db.session.flush()
    shops = db.session.scalars(select(Shop).where(Shop.verified).order_by(Shop.id)).all()
    codes = stand_codes("A", 1, 100) + stand_codes("B", 1, 30)
    stands = [Stand(fair_id=fair.id, code=code, zone=code[0]) for code in codes]
    for stand, shop in zip(stands, shops, strict=False):
        stand.shop_id = shop.id
    db.session.add_all(stands)
    db.session.flush()
    for stand in stands:
        if stand.shop_id is None:
            continue
        products = db.session.scalars(
            select(Product.id).where(Product.shop_id == stand.shop_id, Product.status == "active",
                                     Product.stock > 0).order_by(Product.id).limit(6)).all()
        db.session.add_all(StandItem(stand_id=stand.id, product_id=product_id)
                           for product_id in products)
    db.session.commit()
