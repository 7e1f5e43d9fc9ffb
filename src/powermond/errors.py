"""Errors that map to exit codes (DESIGN.md: 0 ok, 1 runtime, 2 usage, 78 config)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h


class PowermonError(Exception):
    """A failure reported to the operator as one clear message, exit code 1."""

    exit_code = EXIT_FAILURE


class ConfigError(PowermonError):
    """One or more configuration problems, each naming file and line or [table] key."""

    exit_code = EXIT_CONFIG

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class NotFoundError(PowermonError):
    """A named PDU or machine that is neither configured nor stored."""
