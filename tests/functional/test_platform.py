"""What every response carries, limits on requests, migrations and demo data."""

import pytest
from sqlalchemy import func, select

from storefront.catalogue.models import Product, ProductImage, Shop
from storefront.extensions import db
from storefront.places import KECAMATAN


@pytest.mark.parametrize("url", ["/", "/katalog", "/masuk", "/tidak-ada"])
def test_security_headers_on_every_page(client, app, url):
    headers = client.get(url).headers
    csp = headers["Content-Security-Policy"]
    for part in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'nonce-"):
        assert part in csp
    assert "unsafe-eval" not in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_scripts_carry_the_csp_nonce(client, app):
    response = client.get("/")
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    body = response.get_data(as_text=True)
    assert body.count("<script") == body.count(f'nonce="{nonce}"') == 2
    assert '"allowEval":false' in body


def test_nonce_changes_per_request(client, app):
    first = client.get("/").headers["Content-Security-Policy"]
    assert first != client.get("/").headers["Content-Security-Policy"]


def test_unknown_page_is_a_friendly_404(client, app):
    response = client.get("/tidak-ada")
    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.get_data(as_text=True)


def test_oversized_request_is_refused_with_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/masuk", data={"email": "x" * 5000})
    assert response.status_code == 413
    assert "terlalu besar" in response.get_data(as_text=True)


def test_migrations_build_the_same_schema_as_the_models(app):
    """Alembic's upgrade and the models agree, on this database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    db.drop_all()
    try:
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == []
        downgrade(revision="base")
    finally:
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.create_all()


def test_seed_demo_makes_a_city_of_shops(runner, app):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Shop.id))) >= 40
    assert db.session.scalar(select(func.count(Product.id))) >= 600
    kecamatan = set(db.session.scalars(select(Shop.kecamatan).distinct()))
    assert kecamatan == set(KECAMATAN)
    assert db.session.scalar(select(func.count(Shop.id)).where(Shop.type == "koperasi")) >= 5
    key = db.session.scalar(select(ProductImage.key))
    assert (app.config["MEDIA_ROOT"] + f"/p/{key}-320.webp")
    from pathlib import Path

    for width in (320, 640, 1280):
        assert Path(app.config["MEDIA_ROOT"], "p", f"{key}-{width}.webp").stat().st_size > 0
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0 and "sudah berisi" in again.output


def test_demo_pictures_are_served_with_long_cache(client, runner, app):
    runner.invoke(args=["seed-demo", "--products", "20", "--shops", "13"])
    key = db.session.scalar(select(ProductImage.key))
    response = client.get(f"/media/p/{key}-320.webp")
    assert response.status_code == 200 and response.mimetype == "image/webp"
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get("/media/../secret_key").status_code == 404


def test_seed_demo_scales_past_the_shop_names(runner, app):
    """Thousands of shops outnumber the name combinations; seeding must still finish."""
    result = runner.invoke(args=["seed-demo", "--products", "3", "--shops", "1400"])
    assert result.exit_code == 0, result.output
    names = db.session.scalars(select(Shop.name)).all()
    assert len(names) == len(set(names)) == 1400
