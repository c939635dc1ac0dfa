"""Errors a user can act on: each names the problem and the fix."""

from __future__ import annotations


class InstructrlError(Exception):
    """A problem with the user's input or environment, reported as one line and a fix."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem} (fix: {fix})")


class ConfigError(InstructrlError):
    """Unknown preset, unknown key, or a value out of range."""


class DataError(InstructrlError):
    """A missing data file or a malformed row: names the file, line, field and what was expected."""

    def __init__(self, source: str, line: int | None, field: str | None, expected: str, fix: str | None = None):
        where = source if line is None else f"{source}:{line}"
        what = f"field '{field}' " if field else ""
        super().__init__(f"{where}: {what}{expected}", fix)
        self.source, self.line, self.field, self.expected = source, line, field, expected


class ModelError(InstructrlError):
    """An unknown model name, a model that cannot be loaded, or a corrupt checkpoint."""
