"""``powermon config check`` and ``powermon config apply``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from powermond.cli import add_command
from powermond.configdir import config_dir_from
from powermond.errors import EXIT_OK

if TYPE_CHECKING:
    from powermond.inventory.model import Inventory
    from powermond.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = add_command(subparsers, "config", "validate or apply pdus.toml and machines.toml")
    actions = config.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    check = add_command(actions, "check", "validate all configuration files (exit 78 if invalid)")
    check.set_defaults(func=_check)
    apply = add_command(
        actions, "apply", "apply PDUs then machines to the database, print what changed"
    )
    apply.set_defaults(func=_apply)


def _load(args: argparse.Namespace) -> tuple[Path, Settings, Inventory]:
    from powermond.inventory.load import load_all

    config_dir = config_dir_from(getattr(args, "config_dir", None))
    settings, inventory = load_all(config_dir)
    return config_dir, settings, inventory


def _check(args: argparse.Namespace) -> int:
    config_dir, _settings, inventory = _load(args)
    outlets = sum(len(m.outlets) for m in inventory.machines.values())
    print(
        f"{config_dir}: OK: {len(inventory.pdus)} PDUs, {len(inventory.machines)} machines, "
        f"{outlets} outlets"
    )
    return EXIT_OK


def _apply(args: argparse.Namespace) -> int:
    _config_dir, settings, inventory = _load(args)
    lines = asyncio.run(apply_config(settings, inventory))
    for line in lines or ["nothing changed"]:
        print(line)
    sys.stdout.flush()
    return EXIT_OK


async def apply_config(settings: Settings, inventory: Inventory) -> list[str]:
    """Apply the inventory in one transaction; the lines say what changed."""
    from powermond.db.apply import apply_inventory
    from powermond.db.engine import Database
    from powermond.db.sqlite_access import open_url

    url = open_url(settings.database.url.get_secret_value(), "write")
    async with Database.from_url(url) as db, db.transaction() as session:
        result = await apply_inventory(session, inventory)
    return result.lines()
