"""What the city office does to categories, roles and the audit log: plain functions.

Each change is recorded in the audit log in the same transaction as the change itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from ..accounts.models import ROLES, User, UserRole
from ..audit import record
from ..catalogue.models import Category, Product
from ..extensions import db
from ..ledger.models import AuditEntry
from ..slugs import slugify
from ..timeutil import jakarta_day_start

# --- categories -------------------------------------------------------------------------


class CategoryInUse(Exception):
    """The category still holds products or subcategories; nothing was deleted."""

    def __init__(self, products: int, children: int):
        super().__init__(f"{products} products, {children} children")
        self.products = products
        self.children = children


def category_tree() -> list[Category]:
    """Top categories in their order, each with its children (fresh from the database,
    not the catalogue's per-process copy: the office must see its own change at once)."""
    return list(db.session.scalars(
        select(Category).where(Category.parent_id.is_(None))
        .order_by(Category.position, Category.id).options(selectinload(Category.children))))


def product_counts() -> dict[int, int]:
    return dict(db.session.execute(
        select(Product.category_id, func.count(Product.id)).group_by(Product.category_id)).all())


def _state(category: Category) -> dict:
    return {"name": category.name, "slug": category.slug, "parent_id": category.parent_id,
            "position": category.position}


def name_taken(name: str, parent_id: int | None, category_id: int | None = None) -> bool:
    """Two categories with one name side by side would confuse shoppers' filters."""
    clash = db.session.scalar(select(Category.id).where(
        func.lower(Category.name) == name.lower(),
        Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id))
    return clash is not None and clash != category_id


def _unique_slug(name: str) -> str:
    base = slugify(name, 70)
    slug, n = base, 1
    while db.session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _siblings(parent_id: int | None) -> list[Category]:
    where = Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id
    return list(db.session.scalars(select(Category).where(where)
                                   .order_by(Category.position, Category.id)))


def add_category(name: str, parent: Category | None, actor) -> Category:
    siblings = _siblings(parent.id if parent else None)
    category = Category(name=name, slug=_unique_slug(name), parent=parent,
                        position=max((c.position for c in siblings), default=-1) + 1)
    db.session.add(category)
    db.session.flush()
    record(actor, "category.create", category, after=_state(category))
    db.session.flush()
    return category


def rename_category(category: Category, name: str, actor) -> None:
    # The slug stays: it is in shoppers' links and bookmarks (?kategori=...).
    if name == category.name:
        return
    before = _state(category)
    category.name = name
    record(actor, "category.rename", category, before=before, after=_state(category))
    db.session.flush()


def move_category(category: Category, step: int, actor) -> bool:
    """One place up (step -1) or down (+1) among its siblings; False at either end."""
    siblings = _siblings(category.parent_id)
    here = siblings.index(category)
    there = here + step
    if not 0 <= there < len(siblings):
        return False
    before = _state(category)
    siblings[here], siblings[there] = siblings[there], siblings[here]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:  # touch only what moved: each change re-renders the menu
            sibling.position = position
    record(actor, "category.move", category, before=before, after=_state(category))
    db.session.flush()
    return True


def delete_category(category: Category, actor) -> None:
    products = db.session.scalar(select(func.count(Product.id))
                                 .where(Product.category_id == category.id)) or 0
    children = len(category.children)
    if products or children:
        raise CategoryInUse(products, children)
    record(actor, "category.delete", category, before=_state(category))
    db.session.delete(category)
    db.session.flush()


# --- roles ------------------------------------------------------------------------------

# Who the role page lists before anyone searches: the people who hold power.
STAFF_ROLES = ("admin", "organizer", "observer", "coop_manager")


class OwnAdminRole(Exception):
    """An admin tried to take away their own admin role (the office would lock itself out)."""


def find_users(text: str = "", limit: int = 50) -> list[User]:
    statement = select(User).order_by(User.email).limit(limit)
    if text:
        statement = statement.where(or_(User.email.icontains(text, autoescape=True),
                                        User.name.icontains(text, autoescape=True)))
    else:
        statement = statement.where(User.roles.any(UserRole.role.in_(STAFF_ROLES)))
    return list(db.session.scalars(statement))


def grant_role(user: User, role: str, actor) -> bool:
    """Give ``user`` the role; False if they already had it (nothing recorded)."""
    if role not in ROLES:
        raise ValueError(role)
    if role in user.role_names:
        return False
    before = sorted(user.role_names)
    user.grant(role)
    record(actor, "user.role_grant", user, before={"roles": before},
           after={"roles": sorted(user.role_names)}, note=role)
    db.session.flush()
    return True


def revoke_role(user: User, role: str, actor) -> bool:
    """Take the role away; False if they did not have it (nothing recorded)."""
    if role == "admin" and actor is not None and user.id == actor.id:
        raise OwnAdminRole()
    held = [r for r in user.roles if r.role == role]
    if not held:
        return False
    before = sorted(user.role_names)
    user.roles.remove(held[0])
    record(actor, "user.role_revoke", user, before={"roles": before},
           after={"roles": sorted(user.role_names)}, note=role)
    db.session.flush()
    return True


# --- the audit log ----------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""  # part of the actor's email
    object_type: str = ""
    since: date | None = None  # days in Jakarta, both ends included
    until: date | None = None


def audit_entries(wanted: AuditFilter) -> Select:
    """The entries ``wanted`` asks for, newest first."""
    statement = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if wanted.action:
        statement = statement.where(AuditEntry.action == wanted.action)
    if wanted.actor:
        statement = statement.where(AuditEntry.actor.has(
            User.email.icontains(wanted.actor.strip(), autoescape=True)))
    if wanted.object_type:
        statement = statement.where(AuditEntry.object_type == wanted.object_type)
    if wanted.since:
        statement = statement.where(AuditEntry.at >= jakarta_day_start(wanted.since))
    if wanted.until:
        statement = statement.where(AuditEntry.at < jakarta_day_start(wanted.until + timedelta(1)))
    return statement


def audit_page(wanted: AuditFilter, page: int, page_size: int) -> tuple[list[AuditEntry], int]:
    statement = audit_entries(wanted)
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    entries = db.session.scalars(statement.options(selectinload(AuditEntry.actor))
                                 .offset((page - 1) * page_size).limit(page_size)).all()
    return list(entries), total or 0


def audit_choices(actions=(), object_types=()) -> tuple[list[str], list[str]]:
    """Actions and object types to filter by: the ones given, and every one the log holds."""
    held_actions = db.session.scalars(select(AuditEntry.action).distinct())
    held_types = db.session.scalars(select(AuditEntry.object_type).distinct())
    return sorted({*actions, *held_actions}), sorted({*object_types, *held_types})


AUDIT_COLUMNS = ("waktu", "pelaku", "aksi", "jenis_objek", "id_objek", "sebelum", "sesudah",
                 "catatan")


def audit_export_rows(wanted: AuditFilter) -> Iterator[tuple]:
    statement = audit_entries(wanted).options(selectinload(AuditEntry.actor))
    for entry in db.session.scalars(statement.execution_options(yield_per=1000)):
        yield (entry.at.isoformat(timespec="seconds") + "Z",
               entry.actor.email if entry.actor else "", entry.action, entry.object_type,
               entry.object_id,
               json.dumps(entry.before, ensure_ascii=False, sort_keys=True) if entry.before else "",
               json.dumps(entry.after, ensure_ascii=False, sort_keys=True) if entry.after else "",
               entry.note)
