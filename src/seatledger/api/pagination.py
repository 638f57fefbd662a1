"""Pages of a list: ``?limit=`` (1 to 100, default 50) and an opaque ``?cursor=``.

A cursor holds the sort key of the last item of the previous page (keyset pagination), so a page
never repeats or skips an item when items are added before it. ``next_cursor`` is null on the
last page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.domain.errors import InvalidInput

T = TypeVar("T")
S = TypeVar("S")

Key = tuple[str | int, ...]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


LimitQuery = Annotated[
    int,
    Query(ge=1, le=limits.MAX_PAGE, description=f"Items per page (at most {limits.MAX_PAGE})."),
]
CursorQuery = Annotated[
    str | None,
    Query(max_length=512, description="The `next_cursor` of the previous page."),
]


def _comparable(key: Key) -> tuple[str, ...]:
    # Numbers zero-padded, so every key compares as text and numbers still sort as numbers.
    return tuple(f"{part:020d}" if isinstance(part, int) else part for part in key)


def _encode(key: tuple[str, ...]) -> str:
    raw = json.dumps(list(key)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, ...]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput("cursor", "must be a next_cursor this API returned")
    return tuple(value)


def paginate(
    items: Sequence[S],
    *,
    key: Callable[[S], Key],
    limit: int,
    cursor: str | None,
    read: Callable[[S], T],
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key`` here) after ``cursor``, turned into schemas by
    ``read``, and the cursor of the next page (None on the last one)."""
    keyed = sorted(((_comparable(key(item)), item) for item in items), key=lambda pair: pair[0])
    if cursor is not None:
        after = _decode(cursor)
        keyed = [pair for pair in keyed if pair[0] > after]
    page = keyed[:limit]
    next_cursor = _encode(page[-1][0]) if len(keyed) > limit else None
    return [read(item) for _, item in page], next_cursor
