"""The three configuration files as TOML, and the database URL of ``powermon.toml``.

Reading a file reports syntax problems as ``file:line:col``. The database URL is checked
here too, for :mod:`powermond.inventory.load` (which validates everything) and for the
commands that only read the database (``pdus``, ``power``, ``report``…): they take the URL
alone through :func:`load_database_url`, so they need not import pydantic nor build the
settings models (a third of their start-up); ``config check`` still validates every key.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from powermond.errors import ConfigError

SETTINGS_FILE = "powermon.toml"
PDUS_FILE = "pdus.toml"
MACHINES_FILE = "machines.toml"
CONFIG_FILES = (SETTINGS_FILE, PDUS_FILE, MACHINES_FILE)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:////var/lib/powermon/powermon.db"
#: Overrides ``[database] url`` (a password need not be in a file).
DATABASE_URL_ENV = "POWERMON_DATABASE_URL"


def require_dir(config_dir: Path) -> None:
    """A mistyped ``--config-dir`` must not fall back to the defaults."""
    if not config_dir.is_dir():
        raise ConfigError([f"{config_dir}: configuration directory does not exist"])


def read_toml(path: Path, problems: list[str]) -> dict[str, Any]:
    """The parsed file, or ``{}`` when absent; syntax errors become ``file:line:col`` problems."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror}")
        return {}
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    except tomllib.TOMLDecodeError as exc:
        problems.append(_syntax_problem(path, exc))
    return {}


def _syntax_problem(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    # tomllib puts the position in the message: "Invalid value (at line 3, column 7)".
    message = str(exc)
    if " (at line " in message:
        text, _, where = message.rpartition(" (at line ")
        line, _, column = where.rstrip(")").partition(", column ")
        return f"{path}:{line}:{column}: TOML syntax error: {text}"
    if " (at end of document)" in message:
        text = message.replace(" (at end of document)", "")
        return f"{path}: TOML syntax error at end of file: {text}"
    return f"{path}: TOML syntax error: {message}"


# --- the database URL -----------------------------------------------------------------------


def apply_url_override(data: dict[str, Any]) -> bool:
    """Put ``$POWERMON_DATABASE_URL`` into the parsed ``powermon.toml``; whether it was set.
    Registers the URL's password with the log filter before anything can echo it."""
    override = os.environ.get(DATABASE_URL_ENV)
    if override:
        data.setdefault("database", {})
        if isinstance(data["database"], dict):
            data["database"]["url"] = override
    if isinstance(data.get("database"), dict):
        register_url_secrets(data["database"].get("url"))
    return bool(override)


def url_source(path: Path, overridden: bool) -> str:
    """Where a problem of the URL is, for its message."""
    return DATABASE_URL_ENV if overridden else f"{path}: database.url"


_ASYNC_DRIVERS = {
    "sqlite": "aiosqlite",
    "mysql": "asyncmy",
    "mariadb": "asyncmy",
    "postgresql": "asyncpg",
}


def database_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be used, without repeating it (it may hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "not a database URL (e.g. sqlite+aiosqlite:////var/lib/powermon/powermon.db)"
    except ValueError:  # SQLAlchemy's own message would repeat the URL, password and all
        return "the port is not a number (is the '@' before the host missing?)"
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    wanted = _ASYNC_DRIVERS.get(backend)
    if wanted is None:
        return f"unsupported database {backend!r} (use sqlite, mysql/mariadb or postgresql)"
    if driver != wanted:
        return f"use the {backend}+{wanted}:// driver, not {driver!r}"
    return None


_NETLOC = re.compile(r"://(?P<netloc>[^/?#]*)")


def register_url_secrets(raw: object) -> None:
    """Register the password of a database URL as given, even one that does not parse (a
    forgotten ``@`` turns "password + host" into a port) or is not a string at all."""
    from powermond.logsetup import register_secret

    for url in raw if isinstance(raw, list) else [raw]:
        if not isinstance(url, str) or (found := _NETLOC.search(url)) is None:
            continue
        netloc = found["netloc"]
        userinfo, at, _host = netloc.rpartition("@")
        # With the "@", the password follows the user; without it, the parser took
        # everything after the first ":" as the port: the password is in there.
        _user, colon, rest = (userinfo if at else netloc).partition(":")
        if colon and rest:
            register_secret(rest)
            register_secret(unquote(rest))


def register_password(url: str) -> None:
    """Let the log filter redact the password of a valid URL (as SQLAlchemy parses it)."""
    from sqlalchemy.engine import make_url

    from powermond.logsetup import register_secret

    password = make_url(url).password
    if password:
        register_secret(str(password))


def load_database_url(config_dir: Path) -> str:
    """``[database] url`` of ``powermon.toml`` (the default when absent), or
    ``$POWERMON_DATABASE_URL``; checked as :func:`~powermond.inventory.load.load_settings`
    checks it. The file's other keys are not validated (``config check`` does that)."""
    require_dir(config_dir)
    problems: list[str] = []
    path = config_dir / SETTINGS_FILE
    data = read_toml(path, problems)
    overridden = apply_url_override(data)
    database = data.get("database", {})
    url = database.get("url", DEFAULT_DATABASE_URL) if isinstance(database, dict) else None
    if not isinstance(database, dict):
        problems.append(f"{path}: database: must be a table [database]")
    elif not isinstance(url, str):
        problems.append(f"{url_source(path, overridden)}: must be a string")
    elif problem := database_url_problem(url):
        problems.append(f"{url_source(path, overridden)}: {problem}")
    if problems or not isinstance(url, str):
        raise ConfigError(problems)
    register_password(url)
    return url
