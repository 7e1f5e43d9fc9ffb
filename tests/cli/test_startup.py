"""What keeps a command's start-up short, and must not change what it does: running a
command builds only its group's parser (``cli.COMMANDS``), the same command line as the
whole parser; its imports run without garbage collections and stay frozen until it ends
(``importing``); its result leaves the event loop without being formatted
(``run_async``). CPU figures are ``bench/bench_startup.py``'s."""

from __future__ import annotations

import argparse
import gc
from pathlib import Path

import pytest

from powermond.cli import COMMANDS, build_parser, command_of, importing, main, run_async


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = (a for a in parser._actions if a.dest == "command")
    return dict(subparsers.choices)  # type: ignore[arg-type]


def test_commands_name_the_module_of_every_command() -> None:
    assert sorted(COMMANDS) == sorted(_subcommands(build_parser()))
    for command, module in COMMANDS.items():
        built = _subcommands(build_parser(command))
        assert command in built, command
        assert {COMMANDS[c] for c in built} == {module}, command


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_alone_parses_and_helps_as_in_the_whole_parser(command: str) -> None:
    alone = _subcommands(build_parser(command))[command]
    whole = _subcommands(build_parser())[command]
    assert alone.format_help() == whole.format_help()


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["pdus"], "pdus"),
        (["--config-dir", "/etc/pm", "power", "wn1"], "power"),
        (["--config-dir=/etc/pm", "-v", "report"], "report"),
        (["--config", "pdus", "power"], "power"),  # an abbreviated option takes its value
        (["-v", "--version"], None),
        ([], None),
        (["--config-dir"], None),
    ],
)
def test_command_of(argv: list[str], command: str | None) -> None:
    assert command_of(argv) == command


def test_an_unknown_command_gets_the_whole_parser_and_its_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--config-dir", "/nonexistent", "pduss"])
    assert exc.value.code == 2
    assert "invalid choice: 'pduss'" in capsys.readouterr().err


def test_run_async_returns_the_result_unformatted() -> None:
    """Python 3.11's asyncio.run formats its main task, result included, when it restores
    the SIGINT handler: a command's rows were each formatted twice for nothing."""

    class Rows:
        formatted = 0

        def __repr__(self) -> str:
            Rows.formatted += 1
            return "Rows()"

    async def command() -> Rows:
        return Rows()

    rows = run_async(command())
    assert isinstance(rows, Rows)
    assert Rows.formatted == 0


def test_importing_collects_nothing_and_freezes_what_it_made() -> None:
    assert gc.isenabled()
    try:
        with importing():
            assert not gc.isenabled()
            made = [[i] for i in range(2000)]  # past the 700 objects that start a collection
            assert gc.get_count()[0] >= len(made)  # a collection would have reset it
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(made)
    finally:
        gc.unfreeze()


def test_a_command_leaves_nothing_frozen(tmp_path: Path) -> None:
    """main() unfreezes what its imports froze: tests run many commands in one process."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "powermon.toml").write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/x.db"\n')
    assert main(["--config-dir", str(etc), "pdus"]) == 1  # no database file: one clear line
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
