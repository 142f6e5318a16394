"""The one error type a user sees.

Every mistake in a user's input (a file, a column, a value, an option) is raised as
``UptakeInputError`` with a one-line message naming the file, column, row and value
where they apply. The CLI turns it into that line on stderr and exit code 2, so no
traceback reaches an analyst for a problem in their own data.
"""

from __future__ import annotations


class UptakeInputError(ValueError):
    """A problem with the user's input; the message is shown as-is, on one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def where(
    file: object | None = None,
    column: str | None = None,
    row: int | None = None,
    value: object | None = None,
) -> str:
    """Format the location part of an error: ``file 'x.csv', column 'Income', row 12, value 'abc'``."""
    parts = []
    if file is not None:
        parts.append(f"file '{file}'")
    if column is not None:
        parts.append(f"column '{column}'")
    if row is not None:
        parts.append(f"row {row}")
    if value is not None:
        parts.append(f"value {value!r}")
    return ", ".join(parts)
