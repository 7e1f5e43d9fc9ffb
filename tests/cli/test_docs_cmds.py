"""``powermon completion`` and ``powermon manpage``: generated from the parsers that run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from powermond import __version__
from powermond.cli import COMMAND_MODULES, build_parser, main

BIN = Path(sys.executable).parent


def _commands() -> list[str]:
    parser = build_parser()
    (subparsers,) = (a for a in parser._actions if a.dest == "command")
    return sorted(subparsers.choices)  # type: ignore[arg-type]


def test_every_command_group_is_registered() -> None:
    assert "docs_cmds" in COMMAND_MODULES
    assert {"completion", "manpage", "report", "run"} <= set(_commands())


def test_bash_completion_knows_every_command_and_is_valid_bash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    for command in _commands():
        assert command in script, command
    assert "--since" in script
    assert "--config-dir" in script
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    path = tmp_path / "powermon"
    path.write_text(script)
    # Sourcing defines the completion function and registers it for `powermon`.
    done = subprocess.run(
        [bash, "-c", f"source {path} && complete -p powermon"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "powermon" in done.stdout


def test_completion_for_the_daemon(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "zsh", "--program", "powermond"]) == 0
    script = capsys.readouterr().out
    assert "#compdef powermond" in script
    assert "--version" in script


def test_manual_pages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manpage"]) == 0
    page = capsys.readouterr().out
    assert page.startswith('.TH POWERMON "1"')
    assert f"powermon {__version__}" in page
    for command in _commands():
        assert f"powermon {command}" in _plain(page), command
    assert main(["manpage", "powermond"]) == 0
    daemon = capsys.readouterr().out
    assert daemon.startswith('.TH POWERMOND "1"')
    assert "--version" in _plain(daemon)


def test_manual_page_renders(tmp_path: Path) -> None:
    man = shutil.which("man")
    if man is None:
        pytest.skip("man is not installed")
    page = tmp_path / "powermon.1"
    done = subprocess.run([str(BIN / "powermon"), "manpage"], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    page.write_text(done.stdout)
    env = {"MANWIDTH": "100", "PATH": "/usr/bin:/bin", "LANG": "C"}
    rendered = subprocess.run([man, "-l", str(page)], capture_output=True, text=True,
                              timeout=60, check=False, env=env)  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    assert "powermon report" in rendered.stdout
    assert "--config-dir" in rendered.stdout


def _plain(roff: str) -> str:
    """The page's words: roff's escaped hyphens and font changes removed."""
    return roff.replace("\\-", "-").replace("\\fR \\fI\\,", " ")
