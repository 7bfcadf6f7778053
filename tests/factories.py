"""factory_boy factories: objects a test needs, in one line each."""

import factory
from factory.alchemy import SQLAlchemyModelFactory

from storefront.accounts.models import User, UserRole
from storefront.accounts.passwords import hash_password
from storefront.catalogue.models import Category, Product, Shop
from storefront.extensions import db
from storefront.slugs import slugify
from tests.conftest import TEST_PASSWORD


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 (the app's scoped session)
        sqlalchemy_session_persistence = "commit"


class UserFactory(Base):
    class Meta:
        model = User

    name = factory.Faker("name", locale="id_ID")
    email = factory.Sequence(lambda n: f"user{n}@gerai.test")
    password_hash = factory.LazyFunction(lambda: hash_password(TEST_PASSWORD))

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ["shopper"]:
            self.roles.append(UserRole(role=role))
        if create:
            db.session.commit()


class ShopFactory(Base):
    class Meta:
        model = Shop

    owner = factory.SubFactory(UserFactory, roles=["shopper", "seller"])
    name = factory.Sequence(lambda n: f"Dapur Bu Sri {n}")
    slug = factory.LazyAttribute(lambda s: slugify(s.name))
    type = "umkm"
    kecamatan = "Cipondoh"
    kelurahan = "Ketapang"
    verified = True


class CategoryFactory(Base):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Kategori {n}")
    slug = factory.LazyAttribute(lambda c: slugify(c.name))
    parent = None


class ProductFactory(Base):
    class Meta:
        model = Product

    shop = factory.SubFactory(ShopFactory)
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Produk {n}")
    slug = factory.LazyAttribute(lambda p: slugify(p.name))
    description = "Buatan rumahan."
    price = 15_000
    stock = 10
    status = "active"
