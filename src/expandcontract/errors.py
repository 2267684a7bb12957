"""One exception hierarchy. The CLI turns every one of these into a one-line message and exit code 2."""

from __future__ import annotations


class ExpandContractError(Exception):
    """Base class: the message is one line that says what went wrong, where, and how to fix it."""


class ConfigError(ExpandContractError):
    """Settings are missing, unreadable or invalid."""


class UsageError(ExpandContractError):
    """A command's arguments name something that does not exist (a git ref, a revision, a file)."""


class RevisionLoadError(ExpandContractError):
    """A revision file cannot be loaded at all (syntax error, broken graph)."""

    def __init__(
        self, message: str, failing_import: str | None = None, cause: str = "", line: int = 0
    ) -> None:
        super().__init__(message)
        # when a revision file's module-level code raised: the file, the error ("Type: text"), the line
        self.failing_import = failing_import
        self.cause = cause
        self.line = line


class LayoutError(ExpandContractError):
    """The project's layout does not allow the requested command (e.g. adopt on a history it cannot adopt)."""


class DatabaseError(ExpandContractError):
    """The database could not be reached or refused a statement."""


class ContractBlocked(ExpandContractError):
    """The gate refused one or more pending contract revisions."""
