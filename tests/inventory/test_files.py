"""The database URL alone (the commands that only read the database): checked as
``load_settings`` checks it, problems named by file and key, the password never echoed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from powermond import logsetup
from powermond.errors import ConfigError
from powermond.inventory.files import DEFAULT_DATABASE_URL, load_database_url
from powermond.inventory.load import load_settings

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("POWERMON_DATABASE_URL", raising=False)
    yield
    logsetup.forget_secrets()


def problems_of(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_database_url(config_dir)
    return caught.value.problems


def test_the_url_of_the_file_the_default_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_database_url(tmp_path) == DEFAULT_DATABASE_URL  # no powermon.toml
    (tmp_path / "powermon.toml").write_text("[collector]\ninterval = 60\n")
    assert load_database_url(tmp_path) == DEFAULT_DATABASE_URL  # no [database]
    url = "postgresql+asyncpg://pm:hunter2@db/pm"
    (tmp_path / "powermon.toml").write_text(f'[database]\nurl = "{url}"\n')
    assert load_database_url(tmp_path) == url
    assert load_database_url(tmp_path) == load_settings(tmp_path).database.url.get_secret_value()
    monkeypatch.setenv("POWERMON_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    assert load_database_url(tmp_path) == "sqlite+aiosqlite:///x.db"


def test_the_password_is_registered_for_redaction(tmp_path: Path) -> None:
    (tmp_path / "powermon.toml").write_text(
        '[database]\nurl = "mysql+asyncmy://pm:hunter2@db/pm"\n'
    )
    load_database_url(tmp_path)
    assert logsetup._secrets.redact("connecting with hunter2") == (
        f"connecting with {logsetup.REDACTED}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[database]\nurl = "mysql://pm:hunter2@db/pm"\n', "powermon.toml: database.url: use "
         "the mysql+asyncmy:// driver, not 'mysqldb'"),
        ('[database]\nurl = "nonsense"\n', "powermon.toml: database.url: not a database URL"),
        ("[database]\nurl = 5\n", "powermon.toml: database.url: must be a string"),
        ('database = "sqlite"\n', "powermon.toml: database: must be a table [database]"),
        ("[database\n", "powermon.toml:1:10: TOML syntax error"),
    ],
)  # fmt: skip
def test_problems_name_file_and_key_as_load_settings_does(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / "powermon.toml").write_text(text)
    found = problems_of(tmp_path)
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path}/{expected}")
    assert "hunter2" not in found[0]


def test_url_problems_read_as_in_the_settings(tmp_path: Path) -> None:
    (tmp_path / "powermon.toml").write_text('[database]\nurl = "oracle+oracledb://pm@db/pm"\n')
    with pytest.raises(ConfigError) as settings:
        load_settings(tmp_path)
    assert problems_of(tmp_path) == settings.value.problems


def test_the_environment_is_named_when_its_url_is_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERMON_DATABASE_URL", "postgresql://pm:hunter2@db/pm")
    (found,) = problems_of(tmp_path)
    assert found.startswith("POWERMON_DATABASE_URL: use the postgresql+asyncpg:// driver")
    assert "hunter2" not in found


def test_a_missing_directory_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "typo") == [f"{tmp_path / 'typo'}: configuration directory "
                                              "does not exist"]  # fmt: skip
