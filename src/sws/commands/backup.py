"""`sws backup FILE` and `sws restore FILE`: the whole SWS database, with its engine's own tools.

    sws backup FILE     PostgreSQL: pg_dump's custom format; MariaDB: mariadb-dump in one
                        consistent snapshot (--single-transaction); SQLite: the online backup
                        API. All three run while SWS serves: nothing is locked for writers.
    sws restore FILE    into the database SWS_DATABASE_URL names, which must be empty (a new
                        database): pg_restore in one transaction, the mariadb client, or the
                        backup API; then the schema is upgraded to this version's migrations.

The file is written beside FILE and renamed into place when complete, and an existing FILE is
never overwritten. Passwords reach the tools through their environment or a private option
file, never their command line. Procedure and caveats: docs/operations.md#backup-and-restore.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from sws.config import Settings
from sws.db.engine import make_engine, normalise_url
from sws.db.migrate import upgrade

console = Console()
NAMES = {"postgresql": "PostgreSQL", "mysql": "MariaDB", "sqlite": "SQLite"}
#: The first bytes of each engine's backup file, so a restore refuses another engine's file.
MAGIC = {
    "postgresql": (b"PGDMP",),
    "sqlite": (b"SQLite format 3\0",),
    "mysql": (b"-- MariaDB dump", b"-- MySQL dump", b"/*M!999999"),  # newer ones: sandbox mode
}


@dataclass(frozen=True, slots=True)
class Target:
    """The configured database: its engine ("postgresql", "mysql" or "sqlite") and URL."""

    engine: str
    url: URL

    @classmethod
    def configured(cls) -> Target:
        url = make_url(normalise_url(Settings().db_url))
        return cls(url.get_backend_name(), url)

    @property
    def name(self) -> str:
        return NAMES[self.engine]

    @property
    def label(self) -> str:
        return f"{self.name} database {self.url.database}"


class Failed(Exception):
    """A tool is missing or failed; the message says which and why."""


def backup(
    path: Annotated[Path, typer.Argument(dir_okay=False, help="The file to write.")],
) -> None:
    """Back up the whole SWS database to FILE (which must not exist yet)."""
    target = Target.configured()
    if path.exists():
        _fail(f"{path} exists; choose a new file (a backup never overwrites one)", code=2)
    started, partial = time.monotonic(), path.with_name(f".{path.name}.partial")
    try:
        _backup(target, partial)
        partial.rename(path)
    except Failed as error:
        partial.unlink(missing_ok=True)
        _fail(str(error), code=1)
    size = path.stat().st_size
    console.print(f"backed up the {target.label} to {path} "
                  f"({size:,} bytes in {time.monotonic() - started:.1f} s)")


def restore(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A file `sws backup` wrote.")],
) -> None:
    """Restore FILE into the configured database, which must be empty; then upgrade it."""
    target = Target.configured()
    _check_restorable(target, path)
    started = time.monotonic()
    try:
        _restore(target, path)
    except Failed as error:
        _fail(f"{error}; the database may hold part of the backup: drop and recreate it", code=1)
    engine = make_engine(target.url.render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    console.print(f"restored {path} into the {target.label} in "
                  f"{time.monotonic() - started:.1f} s; run `sws billing check` next")


def _fail(message: str, *, code: int) -> None:
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(code=code)


def _check_restorable(target: Target, path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(16)
    if not head.startswith(MAGIC[target.engine]):
        _fail(f"{path} is not a {target.name} backup by `sws backup`", code=2)
    engine = make_engine(target.url.render_as_string(hide_password=False))
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        _fail(f"the {target.label} is not empty ({len(tables)} tables): restore into a new, "
              "empty database, then point SWS_DATABASE_URL at it", code=2)


def _backup(target: Target, into: Path) -> None:
    if target.engine == "sqlite":
        _sqlite_copy(Path(str(target.url.database)), into)
    elif target.engine == "postgresql":
        _tool(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
               f"--file={into}"], env=_libpq_env(target.url))
    else:
        with _mysql_options(target.url) as options:
            _tool(["mariadb-dump", f"--defaults-extra-file={options}", "--single-transaction",
                   "--routines", "--triggers", "--hex-blob", f"--result-file={into}",
                   str(target.url.database)])


def _restore(target: Target, path: Path) -> None:
    if target.engine == "sqlite":
        _sqlite_copy(path, Path(str(target.url.database)))
    elif target.engine == "postgresql":
        _tool(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
               "--single-transaction", f"--dbname={target.url.database}", str(path)],
              env=_libpq_env(target.url))
    else:
        with _mysql_options(target.url) as options, path.open("rb") as dump:
            _tool(["mariadb", f"--defaults-extra-file={options}", str(target.url.database)],
                  stdin=dump)


def _sqlite_copy(source: Path, into: Path) -> None:
    """SQLite's online backup: a consistent copy, page by page, while writers go on."""
    src, dst = sqlite3.connect(source), sqlite3.connect(into)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _libpq_env(url: URL) -> dict[str, str]:
    given = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username,
             "PGPASSWORD": url.password, "PGDATABASE": url.database}
    return {name: str(value) for name, value in given.items() if value is not None}


@contextmanager
def _mysql_options(url: URL) -> Iterator[str]:
    """A private option file with the connection settings (a password stays off argv)."""
    lines = ["[client]", f"host={url.host or 'localhost'}", f"port={url.port or 3306}"]
    lines += [f"user={url.username}"] if url.username else []
    lines += [f"password={url.password}"] if url.password else []
    with tempfile.NamedTemporaryFile("w", prefix="sws-backup-", suffix=".cnf") as f:
        os.chmod(f.name, 0o600)
        f.write("\n".join(lines) + "\n")
        f.flush()
        yield f.name


def _tool(command: list[str], *, env: dict[str, str] | None = None,
          stdin: IO[bytes] | None = None) -> None:
    if shutil.which(command[0]) is None:
        raise Failed(f"{command[0]} is not installed (PostgreSQL's or MariaDB's client "
                     "package, of the server's major version or newer)")
    done = subprocess.run(command, env={**os.environ, **(env or {})}, stdin=stdin,
                          capture_output=True, check=False)
    errors = done.stderr.decode(errors="replace").strip()[-2000:]
    if done.returncode != 0:
        raise Failed(f"{command[0]} failed ({done.returncode}): {errors}")
