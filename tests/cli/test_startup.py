"""What keeps a command's start-up short, and must not change what it does: running a
command builds only its group's parser (``cli.COMMANDS``), the same command line as the
whole parser; its result leaves the event loop without being formatted (``run_async``).
CPU figures are ``bench/bench_startup.py``'s."""

from __future__ import annotations

import argparse

import pytest

from powermond.cli import COMMANDS, build_parser, command_of, run_async


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
    from powermond.cli import main

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
