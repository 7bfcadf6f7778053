"""Reference data a fresh install needs before anyone signs in: Kota Tangerang's 13
kecamatan and 104 kelurahan with their Kemendagri codes, and the category tree.

``flask seed-reference`` loads both and may run any number of times: it adds what is
missing and changes nothing that is there (an office that renamed a category keeps
its name). Demo data (``flask seed-demo``) builds on the same rows.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from .catalogue.models import Category
from .demo.catalogue_data import CATEGORIES
from .extensions import db
from .places import CITY_CODE, KECAMATAN_CODES, KELURAHAN_BY_KECAMATAN, KELURAHAN_CODES


class Region(db.Model):
    """A kecamatan or kelurahan of Kota Tangerang, by its Kemendagri code
    (36.71.05 Cipondoh; 36.71.05.1007 Ketapang)."""

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(10))  # kecamatan | kelurahan
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)


def category_tree() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(name, slug, [(leaf name, leaf slug)]) of every top category, in order."""
    return [(name, slug, [(leaf[0], leaf[1]) for leaf in children])
            for name, slug, children in CATEGORIES]


def ensure_categories() -> dict[str, Category]:
    """The category tree, made where missing (matched by slug); returns slug -> Category.
    Only flushes."""
    existing = {c.slug: c for c in db.session.scalars(select(Category))}
    for position, (name, slug, leaves) in enumerate(category_tree()):
        top = existing.get(slug)
        if top is None:
            top = existing[slug] = Category(name=name, slug=slug, position=position)
            db.session.add(top)
        for leaf_position, (leaf_name, leaf_slug) in enumerate(leaves):
            if leaf_slug not in existing:
                existing[leaf_slug] = Category(name=leaf_name, slug=leaf_slug,
                                               position=leaf_position, parent=top)
                db.session.add(existing[leaf_slug])
    db.session.flush()
    return existing


def ensure_regions() -> int:
    """Kecamatan and kelurahan rows, made where missing; returns how many were added."""
    have = set(db.session.scalars(select(Region.code)))
    added = 0
    for kecamatan, code in KECAMATAN_CODES.items():
        if code not in have:
            db.session.add(Region(code=code, name=kecamatan, level="kecamatan",
                                  parent_code=None))
            added += 1
    db.session.flush()
    for kecamatan, kelurahan_names in KELURAHAN_BY_KECAMATAN.items():
        for kelurahan in kelurahan_names:
            code = KELURAHAN_CODES[(kecamatan, kelurahan)]
            if code not in have:
                db.session.add(Region(code=code, name=kelurahan, level="kelurahan",
                                      parent_code=KECAMATAN_CODES[kecamatan]))
                added += 1
    db.session.flush()
    return added


@click.command("seed-reference")
@with_appcontext
def seed_reference():
    """Load Kota Tangerang's kecamatan and kelurahan (Kemendagri codes) and the category
    tree; safe to run again."""
    before = db.session.scalar(select(db.func.count(Category.id)))
    categories = ensure_categories()
    regions = ensure_regions()
    db.session.commit()
    click.echo(f"Kota Tangerang ({CITY_CODE}): {len(KECAMATAN_CODES)} kecamatan, "
               f"{len(KELURAHAN_CODES)} kelurahan ({regions} baru); "
               f"{len(categories)} kategori ({len(categories) - before} baru).")
