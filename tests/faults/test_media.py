"""The media folder failing under an upload: disk full, or not writable.

The seller sees why next to the photo field (503: our fault, not theirs), the
media folder holds nothing of the failed picture (no derivative, no temporary
file) and no ProductImage row points at a picture that is not there. Once the
fault is gone the same upload works.
"""

import errno
import io
import os
import tempfile

import pytest
from PIL import Image
from sqlalchemy import func, select

from storefront.catalogue.models import ProductImage
from storefront.extensions import db
from storefront.media import WIDTHS, StorageUnavailable, load_picture, store_picture
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token

FULL = "Penyimpanan foto sedang penuh"
BROKEN = "Foto belum bisa disimpan karena ada gangguan di penyimpanan kami"


def photo(shade: int = 90) -> bytes:
    """A small JPEG with real detail (so every derivative is written)."""
    image = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
    image.paste((shade, 120, 200), (100, 100, 700, 500))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def files_under(folder) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.relpath(os.path.join(where, name), folder)
                  for where, _dirs, names in os.walk(folder) for name in names)


@pytest.fixture
def product(app, auth):
    owner = UserFactory(email="ijah@contoh.id", roles=["shopper", "seller"])
    made = ProductFactory(shop=ShopFactory(owner=owner, name="Dapur Mak Ijah",
                                           slug="dapur-mak-ijah"))
    auth.login("ijah@contoh.id")
    return made


def upload(client, product, data: bytes, **headers):
    page = f"/penjual/produk/{product.id}"
    return client.post(f"{page}/foto", headers=headers, content_type="multipart/form-data",
                       data={"csrf_token": csrf_token(client, page),
                             "photos": (io.BytesIO(data), "foto-keripik.jpg")})


def image_rows() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ProductImage))


# --- ways the disk says no ----------------------------------------------------------------

class Fault:
    """Makes the n-th write into the media folder fail with ``error`` until healed."""

    def __init__(self, monkeypatch, media, error: int, at: int = 1, where: str = "fsync"):
        self.media, self.error, self.at, self.calls = str(media), error, at, 0
        self.active = True
        if where == "fsync":
            # Where delayed allocation reports a full disk in real life: after the bytes
            # were handed over, with a full-size temporary file already on disk.
            real = os.fsync
            monkeypatch.setattr(os, "fsync", lambda fd: self._maybe_fail() or real(fd))
        else:
            real_mkstemp = tempfile.mkstemp

            def mkstemp(*args, dir=None, **kwargs):
                if dir is not None and str(dir).startswith(self.media):
                    self._maybe_fail()
                return real_mkstemp(*args, dir=dir, **kwargs)
            monkeypatch.setattr(tempfile, "mkstemp", mkstemp)

    def _maybe_fail(self):
        if not self.active:
            return None
        self.calls += 1
        if self.calls >= self.at:
            raise OSError(self.error, os.strerror(self.error))
        return None

    def heal(self):
        self.active = False


FAULTS = {
    # ENOSPC on the first derivative, and on the second (the first already in place).
    "disk-full": dict(error=errno.ENOSPC, at=1, message=FULL),
    "disk-full-after-one-derivative": dict(error=errno.ENOSPC, at=2, message=FULL),
    "quota-exceeded": dict(error=errno.EDQUOT, at=3, message=FULL),
    "not-writable": dict(error=errno.EACCES, at=1, where="mkstemp", message=BROKEN),
    "read-only-filesystem": dict(error=errno.EROFS, at=2, where="mkstemp", message=BROKEN),
}


@pytest.mark.parametrize("name", FAULTS)
def test_upload_into_a_failing_media_folder_leaves_nothing(client, app, product, monkeypatch,
                                                           name):
    media = app.config["MEDIA_ROOT"]
    settings = dict(FAULTS[name])
    message = settings.pop("message")
    fault = Fault(monkeypatch, media, **settings)

    response = upload(client, product, photo())

    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert f'id="photos-error">{message}' in page  # next to the photo field, in Indonesian
    assert files_under(media) == []  # no derivative, no temporary file
    assert image_rows() == 0

    fault.heal()
    response = upload(client, product, photo())
    assert response.status_code == 303
    assert image_rows() == 1
    assert len(files_under(media)) == len(WIDTHS)
    assert not [f for f in files_under(media) if f.endswith(".tmp")]


def test_htmx_upload_gets_the_page_with_the_reason(client, app, product, monkeypatch):
    Fault(monkeypatch, app.config["MEDIA_ROOT"], errno.ENOSPC)
    response = upload(client, product, photo(), **{"HX-Request": "true", "HX-Target": "body"})
    assert response.status_code == 503
    assert FULL in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]


def test_media_folder_really_unwritable(client, app, product, tmp_path):
    """Without any monkeypatching. As root, chmod does not stop writes: a media folder
    whose parent is a regular file fails for everyone."""
    if os.geteuid() != 0:
        media = tmp_path / "media"
        (media / "p").mkdir(parents=True)
        (media / "p").chmod(0o500)
    else:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the media folder's parent should be")
        media = blocker / "media"
    app.config["MEDIA_ROOT"] = str(media)
    try:
        response = upload(client, product, photo())
        assert response.status_code == 503
        assert f'id="photos-error">{BROKEN}' in response.get_data(as_text=True)
        assert files_under(media) == []
        assert image_rows() == 0
    finally:
        if (media / "p").is_dir():
            (media / "p").chmod(0o700)


def test_pictures_already_stored_survive_a_failed_upload(client, app, product, monkeypatch):
    media = app.config["MEDIA_ROOT"]
    assert upload(client, product, photo(30)).status_code == 303
    before = {name: open(os.path.join(media, name), "rb").read() for name in files_under(media)}

    Fault(monkeypatch, media, errno.ENOSPC, at=2)
    assert upload(client, product, photo(220)).status_code == 503
    # The same picture again: its derivatives exist, nothing to write, so it is accepted.
    assert upload(client, product, photo(30)).status_code == 303

    after = {name: open(os.path.join(media, name), "rb").read() for name in files_under(media)}
    assert after == before
    assert image_rows() == 2


def test_shop_logo_on_a_full_disk(client, app, product, monkeypatch):
    Fault(monkeypatch, app.config["MEDIA_ROOT"], errno.ENOSPC)
    shop = product.shop
    form = {"name": shop.name, "type": "umkm", "owner_name": "Ijah Rohayati",
            "whatsapp": "0812-3456-7890", "kecamatan": "Cipondoh", "kelurahan": "Ketapang",
            "address": "Jl. Situ Cipondoh No. 5", "description": "Keripik rumahan", "nib": "",
            "csrf_token": csrf_token(client, "/penjual/toko"),
            "logo": (io.BytesIO(photo()), "logo.jpg")}
    response = client.post("/penjual/toko", data=form, content_type="multipart/form-data")
    assert response.status_code == 503
    assert FULL in response.get_data(as_text=True)
    assert "Jl. Situ Cipondoh No. 5" in response.get_data(as_text=True)  # nothing typed is lost
    assert files_under(app.config["MEDIA_ROOT"]) == []


class Crash(BaseException):
    """The process dying half-way (SIGKILL cannot be caught; this stands in for it)."""


def test_a_crash_mid_write_leaves_no_file_under_a_real_name(tmp_path, monkeypatch):
    picture = load_picture(photo())
    real = os.fsync
    calls = []

    def crash_on_second(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise Crash()
        return real(fd)
    monkeypatch.setattr(os, "fsync", crash_on_second)
    with pytest.raises(Crash):
        store_picture(picture, tmp_path)
    assert files_under(tmp_path) == []


def test_store_picture_says_what_failed(tmp_path, monkeypatch):
    Fault(monkeypatch, tmp_path, errno.ENOSPC)
    with pytest.raises(StorageUnavailable) as failed:
        store_picture(load_picture(photo()), tmp_path)
    assert failed.value.code == "disk_full"
    assert files_under(tmp_path) == []
