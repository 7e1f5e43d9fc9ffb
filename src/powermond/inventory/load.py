"""Reading ``powermon.toml``, ``pdus.toml`` and ``machines.toml`` into validated objects.

Everything is parsed and validated before anything is used, and every problem is reported
at once as ``file:line:col: message`` (TOML syntax) or ``file: [table] key: message``.
The daemon's reload and ``powermon config check`` run exactly this code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr, ValidationError

from powermond.errors import ConfigError
from powermond.inventory.files import (
    MACHINES_FILE,
    PDUS_FILE,
    SETTINGS_FILE,
    apply_url_override,
    database_url_problem,
    read_toml,
    register_password,
    require_dir,
    url_source,
)
from powermond.inventory.inlets import double_counted
from powermond.inventory.model import (
    Inventory,
    MachineConfig,
    OutletRef,
    PduConfig,
    normalize_outlet_label,
)
from powermond.settings import Settings

M = TypeVar("M")


def _validate(
    model: Callable[..., M], data: Mapping[str, Any], path: Path, table: str, problems: list[str]
) -> M | None:
    """``model(**data)`` (a pydantic model or dataclass, both validate what they are given)."""
    try:
        return model(**data)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(_validation_problem(path, table, error))
        return None


def _validation_problem(path: Path, table: str, error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    where = f"[{table}]" if table else ""
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        key_path = ".".join(loc)
        return f"{path}: {where} {key_path}: unknown key".replace(":  ", ": ")
    if error["type"] == "missing":
        return f"{path}: {where} {'.'.join(loc)}: required key is missing".replace(":  ", ": ")
    message = str(error["msg"]).removeprefix("Value error, ")
    shown = "input" in error and not isinstance(error["input"], dict | SecretStr)
    if shown and loc and loc[-1] not in (*_SECRET_KEYS, "url"):  # a URL holds a password
        message += f" (got {error['input']!r})"
    if not loc:
        return f"{path}: {where}: {message}"
    return f"{path}: {where} {'.'.join(loc)}: {message}".replace(":  ", ": ")


def _check_top_level(
    data: Mapping[str, Any], allowed: Iterable[str], path: Path, problems: list[str]
) -> None:
    for key in data:
        if key not in allowed:
            problems.append(f"{path}: {key}: unknown key (expected {', '.join(allowed)})")


def _tables(data: Mapping[str, Any], key: str, path: Path, problems: list[str]) -> dict[str, Any]:
    section = data.get(key, {})
    if not isinstance(section, dict):
        problems.append(f"{path}: {key}: must be a table of [{key}.NAME] tables")
        return {}
    good: dict[str, Any] = {}
    for name, body in section.items():
        if isinstance(body, dict):
            good[name] = body
        else:
            problems.append(f"{path}: [{key}] {name}: must be a table [{key}.{name}]")
    return good


# --- powermon.toml ------------------------------------------------------------------------


def _parse_settings(config_dir: Path, problems: list[str]) -> Settings | None:
    path = config_dir / SETTINGS_FILE
    data = read_toml(path, problems)
    overridden = apply_url_override(data)
    if isinstance(data.get("database"), dict) and isinstance(data["database"].get("url"), str):
        data["database"]["url"] = SecretStr(data["database"]["url"])
    _coerce_paths(data)
    settings = _validate(Settings, data, path, "", problems)
    if settings is not None:
        problem = database_url_problem(settings.database.url.get_secret_value())
        if problem:
            problems.append(f"{url_source(path, overridden)}: {problem}")
            return None
    return settings


def _coerce_paths(data: dict[str, Any]) -> None:
    # Strict models take Path objects; TOML gives strings.
    for section, key in (("rrd", "root"), ("daemon", "state_dir")):
        table = data.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str):
            table[key] = Path(table[key])


# --- pdus.toml ----------------------------------------------------------------------------

_SECRET_KEYS = ("community", "auth_key", "priv_key")


def _parse_pdus(config_dir: Path, problems: list[str]) -> tuple[dict[str, PduConfig], set[str]]:
    """The valid PDUs, and the names of all declared ones (valid or not)."""
    path = config_dir / PDUS_FILE
    data = read_toml(path, problems)
    _check_top_level(data, ("pdu",), path, problems)
    known = _profile_names()
    pdus: dict[str, PduConfig] = {}
    shared: dict[tuple[bool, str], str | SecretStr] = {}
    tables = _tables(data, "pdu", path, problems)
    for name, body in tables.items():
        table = f"pdu.{name}"
        if ":" in name:
            problems.append(f"{path}: [{table}]: a PDU name cannot contain ':'")
            continue
        fields = {k: _shared_value(k, v, shared) for k, v in body.items()}
        if "name" in fields:
            problems.append(f"{path}: [{table}] name: unknown key (the table name is the name)")
            continue
        pdu = _validate(PduConfig, {**fields, "name": name}, path, table, problems)
        if pdu is None:
            continue
        if known is not None and pdu.oid is None and pdu.profile not in known:
            problems.append(
                f"{path}: [{table}] profile: unknown profile {pdu.profile!r} "
                f"(known: {', '.join(sorted(known))})"
            )
            continue
        pdus[name] = pdu
    return pdus, set(tables)


def _shared_value(key: str, value: Any, shared: dict[tuple[bool, str], Any]) -> Any:
    """``value``, secrets as ``SecretStr``; equal strings (and secrets) as one object: 10,000
    PDUs naming the same profile, version and community keep one of each, not 10,000."""
    if not isinstance(value, str):
        return value
    secret = key in _SECRET_KEYS
    found = shared.get((secret, value))
    if found is None:
        found = shared[(secret, value)] = SecretStr(value) if secret else value
    return found


def _profile_names() -> set[str] | None:
    try:
        from powermond.snmp.profiles import profile_names
    except ImportError:  # profiles not installed in this build: skip the name check
        return None
    names: Callable[[], Iterable[str]] = profile_names
    return set(names())


# --- machines.toml ------------------------------------------------------------------------


def _parse_machines(
    config_dir: Path, declared_pdus: set[str], problems: list[str]
) -> dict[str, MachineConfig]:
    path = config_dir / MACHINES_FILE
    data = read_toml(path, problems)
    _check_top_level(data, ("machine",), path, problems)
    machines: dict[str, MachineConfig] = {}
    owner: dict[tuple[str, str], str] = {}
    # One string per PDU name (the PDU's own) and per label, not one per outlet mapped.
    names = {name: name for name in declared_pdus}
    labels: dict[str, str] = {}
    for name, body in _tables(data, "machine", path, problems).items():
        table = f'machine."{name}"'
        outlets = body.get("outlets")
        refs = _parse_outlets(outlets, path, table, (names, labels), problems)
        rrd = body.get("rrd")
        if isinstance(rrd, str) and (rrd.startswith("/") or ".." in rrd.split("/")):
            problems.append(f"{path}: [{table}] rrd: must be <cluster>/<host> under [rrd].root")
            continue
        for ref in refs:
            key = (ref.pdu, ref.label)
            if key in owner:
                problems.append(
                    f"{path}: [{table}] outlets: {ref} is already used by machine {owner[key]!r}"
                )
            else:
                owner[key] = name
        fields = {**body, "name": name, "outlets": tuple(refs)}
        machine = _validate(MachineConfig, fields, path, table, problems)
        if machine is not None:
            machines[name] = machine
    return machines


def _parse_outlets(
    outlets: Any,
    path: Path,
    table: str,
    shared: tuple[dict[str, str], dict[str, str]],
    problems: list[str],
) -> list[OutletRef]:
    """The valid outlet references; a problem for each invalid one. ``shared``: each
    declared PDU name to itself, and the labels seen so far (to keep one string of each)."""
    names, labels = shared
    if outlets is None:
        problems.append(f"{path}: [{table}] outlets: required key is missing")
        return []
    if not isinstance(outlets, list) or not all(isinstance(o, str) for o in outlets):
        problems.append(f'{path}: [{table}] outlets: must be a list of "PDU:N" strings')
        return []
    refs: list[OutletRef] = []
    for text in outlets:
        pdu, sep, label = text.rpartition(":")
        if not sep or not pdu:
            problems.append(
                f'{path}: [{table}] outlets: {text!r} is not "PDU:N", "PDU:U.N" or "PDU:inlet"'
            )
            continue
        try:
            label = normalize_outlet_label(label)
        except ValueError as exc:
            problems.append(f"{path}: [{table}] outlets: {text!r}: {exc}")
            continue
        if pdu not in names:
            problems.append(f"{path}: [{table}] outlets: {text!r} names no PDU in {PDUS_FILE}")
            continue
        ref = OutletRef(pdu=names[pdu], label=labels.setdefault(label, label))
        if ref in refs:
            problems.append(f"{path}: [{table}] outlets: {text!r} is listed twice")
            continue
        refs.append(ref)
    return refs


# --- entry points -------------------------------------------------------------------------


def _register_secrets(settings: Settings | None, inventory: Inventory | None) -> None:
    """Let the log filter redact secret values should one ever reach a message."""
    from powermond.logsetup import register_secret

    if settings is not None:
        register_password(settings.database.url.get_secret_value())
    values: list[SecretStr | None] = []
    for pdu in inventory.pdus.values() if inventory else ():
        values.extend((pdu.community, pdu.auth_key, pdu.priv_key))
    for value in values:
        if value is not None:
            register_secret(value.get_secret_value())


def load_settings(config_dir: Path) -> Settings:
    """``powermon.toml`` (all defaults when absent); ``POWERMON_DATABASE_URL`` overrides."""
    require_dir(config_dir)
    problems: list[str] = []
    settings = _parse_settings(config_dir, problems)
    if problems or settings is None:
        raise ConfigError(problems)
    _register_secrets(settings, None)
    return settings


def load_inventory(config_dir: Path) -> Inventory:
    """``pdus.toml`` then ``machines.toml``, cross-checked; all problems at once."""
    require_dir(config_dir)
    problems: list[str] = []
    pdus, declared = _parse_pdus(config_dir, problems)
    machines = _parse_machines(config_dir, declared, problems)
    problems.extend(double_counted(machines, config_dir / MACHINES_FILE))
    if problems:
        raise ConfigError(problems)
    inventory = Inventory(pdus=pdus, machines=machines)
    _register_secrets(None, inventory)
    return inventory


def load_all(config_dir: Path) -> tuple[Settings, Inventory]:
    """All three files; problems of every file reported together."""
    require_dir(config_dir)
    problems: list[str] = []
    settings = _parse_settings(config_dir, problems)
    try:
        inventory = load_inventory(config_dir)
    except ConfigError as exc:
        problems.extend(exc.problems)
        raise ConfigError(problems) from None
    if settings is not None:
        problems.extend(_pinning_problems(config_dir, settings, inventory))
    if problems or settings is None:
        raise ConfigError(problems)
    _register_secrets(settings, None)
    return settings, inventory


def _pinning_problems(config_dir: Path, settings: Settings, inventory: Inventory) -> list[str]:
    path = config_dir / SETTINGS_FILE
    return [
        f"{path}: [collector] only: PDU {name!r} is not in {PDUS_FILE}"
        for name in settings.collector.only
        if name not in inventory.pdus
    ]
