"""``powermon completion SHELL`` and ``powermon manpage``: both made from the parsers.

Nothing to keep in step by hand: the completion script (shtab) and the manual page
(argparse-manpage) are generated from the same ``argparse`` parsers that run the commands.
The README's install section says where an operator puts them.
"""

from __future__ import annotations

import argparse
import sys

from powermond.cli import add_command
from powermond.errors import EXIT_OK

SHELLS = ("bash", "zsh", "tcsh")
PROGRAMS = ("powermon", "powermond")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    completion = add_command(subparsers, "completion", "print the shell completion script")
    completion.add_argument("shell", choices=SHELLS)
    completion.add_argument("--program", choices=PROGRAMS, default="powermon")
    completion.epilog = (
        "install: powermon completion bash > /etc/bash_completion.d/powermon "
        "(zsh: a file _powermon in a folder of $fpath)"
    )
    completion.set_defaults(func=_completion)

    manpage = add_command(subparsers, "manpage", "print the manual page (roff) of a program")
    manpage.add_argument("program", nargs="?", choices=PROGRAMS, default="powermon")
    manpage.epilog = "install: powermon manpage > /usr/local/share/man/man1/powermon.1"
    manpage.set_defaults(func=_manpage)


def parser_of(program: str) -> argparse.ArgumentParser:
    from powermond.cli import build_parser
    from powermond.cli.daemon_cmd import daemon_parser

    return daemon_parser() if program == "powermond" else build_parser()


def completion_script(shell: str, program: str = "powermon") -> str:
    import shtab

    return shtab.complete(parser_of(program), shell=shell)


def manual_page(program: str = "powermon") -> str:
    from argparse_manpage.manpage import Manpage

    from powermond import __version__

    parser = parser_of(program)
    page = Manpage(parser)
    page.source = f"{program} {__version__}"
    page.manual = "PowerMon manual"
    page.description = parser.description
    return str(page)


def _completion(args: argparse.Namespace) -> int:
    sys.stdout.write(completion_script(args.shell, args.program))
    return EXIT_OK


def _manpage(args: argparse.Namespace) -> int:
    text = manual_page(args.program)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK
