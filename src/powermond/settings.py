"""``powermon.toml`` -> frozen :class:`Settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from powermond.configdir import DEFAULT_CONFIG_DIR, config_dir_from
from powermond.inventory.files import DEFAULT_DATABASE_URL

__all__ = ["DEFAULT_CONFIG_DIR", "Settings", "config_dir_from"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class DatabaseSettings(_Section):
    # A SecretStr because URLs carry passwords; use ``render_url`` for a printable form.
    url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    #: Seconds the database may stay silent during one step (connecting, or waiting for a
    #: statement of a cycle's transaction) before the daemon takes it as unavailable and
    #: spools; never more than half the interval. A step that keeps getting answers may
    #: take longer (a 10,000-PDU cycle).
    timeout: Annotated[float, Field(gt=0, le=600)] = 10


# A collector's name among several on one database: printable, no surrounding blanks.
CollectorName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^\S(.*\S)?$")]


class CollectorSettings(_Section):
    interval: Annotated[float, Field(ge=1, le=86400)] = 300
    timeout: Annotated[float, Field(gt=0, le=60)] = 2.0
    retries: Annotated[int, Field(ge=0, le=10)] = 1
    concurrency: Annotated[int, Field(ge=1, le=100000)] = 256
    max_repetitions: Annotated[int, Field(ge=1, le=1000)] = 64
    # Among several collectors on one database (see cluster.py); None: the host name.
    name: CollectorName | None = None
    only: Annotated[tuple[str, ...], Field(strict=False)] = ()  # PDUs pinned to this collector
    # Seconds a departed collector is remembered: its PDUs go back to it if it returns
    # meanwhile, and the others' shares stay as they are; forgetting it rebalances them.
    forget_after: Annotated[float, Field(gt=0, le=86400 * 366)] = 86400

    @model_validator(mode="after")
    def _remembered_longer_than_a_heartbeat(self) -> CollectorSettings:
        if self.forget_after < 2 * self.interval:
            raise ValueError(
                f"forget_after ({self.forget_after:g} s) must be at least two intervals "
                f"({2 * self.interval:g} s): a live collector would be forgotten"
            )
        return self


class RrdSettings(_Section):
    root: Path = Path("/var/lib/ganglia/rrds")
    interval: Annotated[float, Field(ge=1, le=86400 * 7)] = 3600
    resolution: Annotated[int, Field(ge=15, le=86400)] = 300
    backfill_days: Annotated[float, Field(gt=0, le=3660)] = 7
    rrdcached: str | None = None


class DaemonSettings(_Section):
    state_dir: Path = Path("/var/lib/powermon")
    shutdown_grace: Annotated[float, Field(gt=0, le=600)] = 10
    spool_max_cycles: Annotated[int, Field(ge=1)] = 10000
    log_format: Literal["text", "json"] = "text"


class MetricsSettings(_Section):
    # Off unless set; a non-loopback address is the operator's explicit choice.
    listen: str | None = None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)  # ValueError: pydantic names the key
        return value


class StorageSettings(_Section):
    # Days of raw readings and of raw load kept (0: for ever); hourly rollups are kept always.
    raw_days: Annotated[float, Field(ge=0, le=36600)] = 400
    load_days: Annotated[float, Field(ge=0, le=36600)] = 400


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    collector: CollectorSettings = CollectorSettings()
    rrd: RrdSettings = RrdSettings()
    daemon: DaemonSettings = DaemonSettings()
    storage: StorageSettings = StorageSettings()
    metrics: MetricsSettings = MetricsSettings()

    @property
    def database_bound(self) -> float:
        """The daemon's bound on one database step: ``[database] timeout``, at most half the
        interval, so a silent database costs a cycle its bound, never the next cycle."""
        return min(self.database.timeout, self.collector.interval / 2)


def parse_listen(value: str) -> tuple[str, int]:
    """``"127.0.0.1:9577"``, ``"[::1]:9577"`` -> (host, port); ValueError if malformed."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)
