"""How a command ends: its exit code, or one clear line for an operator's mistake.

No command prints a traceback for what an operator can cause: a configuration error (78), a
PowerMon error (1), a file that cannot be written or read (1, with its path), a closed pipe
(``powermon report | head -1``: quiet, as the Python documentation recommends), Ctrl-C (130).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable

from powermond.errors import EXIT_FAILURE, ConfigError, PowermonError

EXIT_INTERRUPTED = 130

Command = Callable[[argparse.Namespace], int]


def run_command(func: Command, args: argparse.Namespace, prog: str) -> int:
    try:
        try:
            result = func(args)
        finally:
            sys.stdout.flush()  # a closed pipe shows up here, while we can still handle it
    except BrokenPipeError:
        return _stdout_closed()
    except ConfigError as exc:
        for problem in exc.problems:
            _say(prog, problem)
        return exc.exit_code
    except PowermonError as exc:
        _say(prog, str(exc))
        return exc.exit_code
    except OSError as exc:
        _say(prog, os_error_message(exc))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return result


def os_error_message(exc: OSError) -> str:
    """``path: No such file or directory``, as the operator's shell would say it."""
    reason = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return reason


def _stdout_closed() -> int:
    # Python's advice (signal docs, "Note on SIGPIPE"): point stdout at devnull so that the
    # interpreter's final flush does not raise again, and exit 1.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_FAILURE


def _say(prog: str, message: str) -> None:
    with contextlib.suppress(BrokenPipeError):
        print(f"{prog}: {message}", file=sys.stderr)
