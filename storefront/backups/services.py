"""One archive holds everything Gerai keeps: the database and the media folder.

``gerai-<UTC time>.tar.gz`` holds
  ``database.sqlite3`` (SQLite, copied with the online backup API) or
  ``database.pgdump`` (PostgreSQL, ``pg_dump --format=custom``),
  ``media/...`` (every stored picture) and
  ``manifest.json``: the alembic revision of the database, the number of
  products and orders in it, and the sha256 of every other file.

The database is copied first, as one consistent snapshot while the app keeps
writing; the media folder after it. A picture is stored before the row that
points at it is committed, so every picture the snapshot refers to is already
in the folder when it is read.

A restore refuses, before it touches anything, an archive that is damaged (it
does not unpack, or a file's checksum differs from the manifest, or a file is
missing or extra) or that was made at another alembic revision than the code's.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from alembic.script import ScriptDirectory
from flask_babel import gettext as _
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL

from .. import config as settings
from ..catalogue.models import Product
from ..extensions import db
from ..media import media_root, write_atomically
from ..orders.models import Order

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
MIGRATIONS = settings.ROOT / "storefront" / "migrations"
_HASH_CHUNK = 1024 * 1024

Progress = Callable[[int], None]


class BackupRefused(Exception):
    """A backup or restore that cannot go ahead; the message says why, for the operator."""


@dataclass(frozen=True)
class Snapshot:
    revision: str | None
    products: int
    orders: int
    schema: str | None = None


@dataclass(frozen=True)
class Unpacked:
    """A verified archive, unpacked in ``folder`` (removed by the caller)."""

    folder: Path
    manifest: dict

    @property
    def media_files(self) -> list[str]:
        return [name for name in self.manifest["files"] if name.startswith("media/")]


def code_head() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def media_files(root: Path) -> list[Path]:
    """Stored pictures, not the temporary files of uploads in flight (dot names)."""
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob("*")
                  if path.is_file() and not any(part.startswith(".")
                                                for part in path.relative_to(root).parts))


# --------------------------------------------------------------------------- backup

class _Quiet:
    def update(self, n: int) -> None:
        pass


def _quiet(length: int):
    return contextlib.nullcontext(_Quiet())


def create_backup(folder: Path, media_progress=_quiet) -> tuple[Path, dict]:
    """Write ``gerai-<UTC time>.tar.gz`` into ``folder``; returns its path and manifest.

    ``media_progress(count)`` gives a context manager whose value has ``update(n)``
    (``click.progressbar``). The archive appears under its name only once complete
    (written aside, renamed).
    """
    folder.mkdir(parents=True, exist_ok=True)
    dialect = db.engine.dialect.name
    if dialect not in DATABASE_FILES:
        raise BackupRefused(_("Basis data %(name)s belum didukung untuk cadangan.", name=dialect))
    created = datetime.now(UTC)
    final = folder / f"gerai-{created:%Y%m%dT%H%M%SZ}.tar.gz"
    partial = folder / f".{final.name}.partial"
    with tempfile.TemporaryDirectory(dir=folder, prefix=".backup-") as work:
        dump = Path(work) / DATABASE_FILES[dialect]
        snapshot = _dump_sqlite(dump) if dialect == "sqlite" else _dump_postgresql(dump)
        root = media_root()
        pictures = media_files(root)
        files = {dump.name: sha256_of(dump)}
        try:
            with tarfile.open(partial, "w:gz", compresslevel=6) as tar, \
                    media_progress(len(pictures)) as bar:
                tar.add(dump, arcname=dump.name)
                for path in pictures:
                    name = "media/" + path.relative_to(root).as_posix()
                    with contextlib.suppress(FileNotFoundError):  # a failed upload took it back
                        data = path.read_bytes()
                        _add_bytes(tar, name, data)
                        files[name] = hashlib.sha256(data).hexdigest()
                    bar.update(1)
                manifest = {
                    "format": FORMAT,
                    "created_at": created.isoformat(timespec="seconds"),
                    "database": {"dialect": dialect, "file": dump.name, "schema": snapshot.schema},
                    "alembic_revision": snapshot.revision,
                    "counts": {"products": snapshot.products, "orders": snapshot.orders,
                               "media_files": len(files) - 1},
                    "files": files,
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
            os.replace(partial, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    return final, manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _sqlite_path() -> str:
    path = db.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise BackupRefused(_("Basis data SQLite ini tidak berada di berkas, jadi tidak bisa "
                              "dicadangkan."))
    return path


def _count_sqlite(connection: sqlite3.Connection) -> Snapshot:
    def count(table: str) -> int:
        return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]

    has_alembic = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone()
    revision = connection.execute("SELECT version_num FROM alembic_version").fetchone() \
        if has_alembic else None
    return Snapshot(revision=revision[0] if revision else None,
                    products=count(Product.__tablename__), orders=count(Order.__tablename__))


def _dump_sqlite(target: Path) -> Snapshot:
    path = _sqlite_path()
    if not os.path.exists(path):
        raise BackupRefused(_("Berkas basis data %(path)s tidak ada.", path=path))
    source = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # One step (pages=-1): a consistent snapshot of what was committed when it
        # began. Page by page, every write by the app would restart the copy.
        source.backup(copy)
        return _count_sqlite(copy)
    finally:
        source.close()
        copy.close()


_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([^\s]+)")


def _postgres(url: URL) -> tuple[str, dict, str | None]:
    """A libpq URI (no password in it: that goes in PGPASSWORD), and the schema the
    app works in when DATABASE_URL sets ``options=-csearch_path=...``."""
    schema = None
    options = url.query.get("options")
    if isinstance(options, tuple):
        options = " ".join(options)
    if options and (found := _SEARCH_PATH.search(options)):
        schema = found.group(1).split(",")[0].strip().strip('"') or None
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env, schema


def _run(command: list[str], env: dict) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupRefused(_("Program %(name)s tidak ditemukan. Pasang klien PostgreSQL "
                              "(paket postgresql-client).", name=command[0])) from None
    if done.returncode != 0:
        raise BackupRefused(_("%(name)s gagal: %(error)s", name=command[0],
                              error=done.stderr.strip()[-2000:]))


def _dump_postgresql(target: Path) -> Snapshot:
    uri, env, schema = _postgres(db.engine.url)
    # pg_dump reads the very snapshot this transaction exported, so the counts and
    # the revision in the manifest describe exactly the rows in the dump.
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        with connection.begin():
            snapshot_id = connection.scalar(text("SELECT pg_export_snapshot()"))
            revision = None
            if connection.scalar(text("SELECT to_regclass('alembic_version')")) is not None:
                revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
            products = connection.scalar(select(func.count()).select_from(Product.__table__))
            orders = connection.scalar(select(func.count()).select_from(Order.__table__))
            command = ["pg_dump", "--format=custom", f"--snapshot={snapshot_id}",
                       f"--file={target}", f"--dbname={uri}"]
            if schema:
                command.append(f"--schema={schema}")
            _run(command, env)
    return Snapshot(revision=revision, products=products, orders=orders, schema=schema)


# --------------------------------------------------------------------------- restore

def unpack(archive: Path, into: Path) -> Unpacked:
    """Unpack and check ``archive``; raises BackupRefused before anything is restored."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")  # no absolute paths, no .., no links out
    except FileNotFoundError:
        raise BackupRefused(_("Arsip %(path)s tidak ada.", path=str(archive))) from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupRefused(_("Arsip rusak atau bukan arsip cadangan Gerai (%(error)s).",
                              error=str(error) or error.__class__.__name__)) from None
    try:
        manifest = json.loads((into / MANIFEST).read_text())
        files, dialect = dict(manifest["files"]), manifest["database"]["dialect"]
    except (OSError, ValueError, KeyError, TypeError):
        raise BackupRefused(_("Arsip tidak memuat manifest.json yang utuh; ini bukan arsip "
                              "cadangan Gerai atau sudah rusak.")) from None
    if manifest.get("format") != FORMAT:
        raise BackupRefused(_("Format arsip %(found)s tidak dikenal (versi ini membaca format "
                              "%(known)s).", found=manifest.get("format"), known=FORMAT))
    present = {path.relative_to(into).as_posix() for path in into.rglob("*") if path.is_file()}
    present.discard(MANIFEST)
    damaged = sorted(name for name, digest in files.items()
                     if name not in present or sha256_of(into / name) != digest)
    extra = sorted(present - set(files))
    if damaged or extra:
        raise BackupRefused(_("Arsip rusak atau sudah diubah: checksum tidak cocok untuk "
                              "%(names)s. Tidak ada yang dipulihkan.",
                              names=", ".join((damaged + extra)[:5])
                              + (" …" if len(damaged) + len(extra) > 5 else "")))
    head = code_head()
    if manifest.get("alembic_revision") != head:
        raise BackupRefused(_("Arsip dibuat pada revisi basis data %(found)s, sedangkan kode ini "
                              "pada revisi %(head)s. Pulihkan dengan versi Gerai yang sama dengan "
                              "saat arsip dibuat, lalu jalankan flask db upgrade.",
                              found=manifest.get("alembic_revision") or "(tanpa revisi)",
                              head=head))
    here = db.engine.dialect.name
    if dialect != here:
        raise BackupRefused(_("Arsip ini dari %(found)s; basis data tujuan %(here)s.",
                              found=dialect, here=here))
    return Unpacked(folder=into, manifest=manifest)


def restore(unpacked: Unpacked, progress: Progress | None = None) -> Snapshot:
    """Put the archive's media files in place, then replace the database with its copy.

    Media files the archive does not hold stay where they are (names are content
    hashes: nothing in the restored database points at them).
    """
    # Pictures first: if the disk refuses them, the database is still the old one.
    root = media_root()
    for name in unpacked.media_files:
        target = root / Path(name).relative_to("media")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, (unpacked.folder / name).read_bytes())
        if progress:
            progress(1)
    dump = unpacked.folder / unpacked.manifest["database"]["file"]
    db.session.remove()
    db.engine.dispose()
    if db.engine.dialect.name == "sqlite":
        _restore_sqlite(dump)
    else:
        _restore_postgresql(dump, unpacked.manifest["database"].get("schema"))
    db.engine.dispose()
    restored = current_counts()
    expected = unpacked.manifest["counts"]
    if (restored.products, restored.orders) != (expected["products"], expected["orders"]):
        raise BackupRefused(_("Setelah pemulihan basis data memuat %(products)d produk dan "
                              "%(orders)d pesanan, arsip mencatat %(want_products)d dan "
                              "%(want_orders)d.", products=restored.products,
                              orders=restored.orders, want_products=expected["products"],
                              want_orders=expected["orders"]))
    return restored


def current_counts() -> Snapshot:
    with db.engine.connect() as connection:
        return Snapshot(
            revision=None,
            products=connection.scalar(select(func.count()).select_from(Product.__table__)),
            orders=connection.scalar(select(func.count()).select_from(Order.__table__)))


def _restore_sqlite(dump: Path) -> None:
    path = _sqlite_path()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{quote(str(dump))}?mode=ro", uri=True)
    target = sqlite3.connect(path, timeout=30)
    try:
        # The backup API the other way round: the target's pages are replaced in one
        # transaction, so a reader sees the old database or the restored one.
        source.backup(target)
    finally:
        source.close()
        target.close()


def _quote_identifier(name: str) -> str:
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


_SCHEMA_STATEMENT = re.compile(r"^(CREATE|DROP|ALTER|COMMENT ON) SCHEMA ")


def _restore_postgresql(dump: Path, archive_schema: str | None) -> None:
    """pg_restore writes the SQL, psql runs it in one transaction: a restore that fails
    half-way leaves the database as it was.

    A dump of one schema (the app's ``search_path`` schema) restores into the schema the
    app uses here, whatever its name: the schema name pg_dump qualifies every object with
    is replaced outside the COPY data.
    """
    uri, env, schema = _postgres(db.engine.url)
    target_schema = schema or "public"
    script = dump.with_suffix(".sql")
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-acl",
          f"--file={script}", str(dump)], env)
    if archive_schema:
        renamed = script.with_suffix(".target.sql")
        _retarget(script, renamed, archive_schema, target_schema)
        script = renamed
        with db.engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS "
                                    f"{_quote_identifier(target_schema)}"))
    _run(["psql", "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
          f"--dbname={uri}", f"--file={script}"], env)


def _retarget(source: Path, target: Path, old: str, new: str) -> None:
    pattern = re.compile(r"(?<![\w$\"])" + re.escape(_quote_identifier(old)) + r"\.")
    replacement = _quote_identifier(new) + "."
    in_copy = False
    with open(source, encoding="utf-8") as lines, open(target, "w", encoding="utf-8") as out:
        for line in lines:
            if in_copy:
                in_copy = line != "\\.\n"
                out.write(line)
                continue
            if _SCHEMA_STATEMENT.match(line):
                continue  # the schema is the target's; it is made above, never dropped
            if line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;"):
                in_copy = True
            out.write(pattern.sub(replacement, line))
