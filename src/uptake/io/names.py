"""Column names as a user wrote them: stripped of spaces, and never twice in one table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from uptake.errors import UptakeInputError, where


def check_unique_names(names: Sequence[object], path: object) -> None:
    """Two columns of one name cannot both be a feature: pandas would silently rename one ``X.1``."""
    stripped = [str(n).strip() for n in names]
    dup = next((n for n, c in Counter(stripped).items() if c > 1), None)
    if dup is not None:
        places = [i + 1 for i, n in enumerate(stripped) if n == dup]
        raise UptakeInputError(
            f"{where(file=path, column=dup)}: the column name appears {len(places)} times "
            f"(columns {', '.join(map(str, places))}); rename or remove the copies"
        )


__all__ = ["check_unique_names"]
