"""A subscription's add-ons and unbilled pending lines, read together and kept by version
(``store/version_cache.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, literal_column, null, select, union_all

from seatledger.service.ports import SubscriptionParts
from seatledger.store.driver_statements import fetch_rows
from seatledger.store.read_ahead import ReadAhead
from seatledger.store.repositories._common import ConnectionSource, Repository
from seatledger.store.repositories.invoices import UNBILLED_ORDER, pending_line
from seatledger.store.tables import addons, pending_lines
from seatledger.store.version_cache import VersionCache, VersionKey

# Both in one statement: a change another process made since reads them again, and on a busy
# subscription every statement a change sends costs CPU whether or not it shares a round trip.
# The pending lines' columns come first (their types read the rows back); each add-on is a row
# with its name in ``kind`` and its count in ``quantity``, told apart by ``part``. Add-ons come
# first by name, then the lines in the order the next invoice bills them.
_PENDING, _ADDON = "pending", "addon"
_pending_part = select(literal_column(f"'{_PENDING}'").label("part"), *pending_lines.c).where(
    pending_lines.c.account_id == bindparam("account_id"),
    pending_lines.c.subscription_id == bindparam("subscription_id"),
    pending_lines.c.invoice_id.is_(None),
)
_addon_part = select(
    literal_column(f"'{_ADDON}'"),
    *(
        addons.c.name
        if column.name == "kind"
        else addons.c["count"]
        if column.name == "quantity"
        else null()
        for column in pending_lines.c
    ),
).where(
    addons.c.account_id == bindparam("account_id"),
    addons.c.subscription_id == bindparam("subscription_id"),
)
_both = union_all(_pending_part, _addon_part).subquery()
_PARTS = select(_both).order_by(
    _both.c.part, *(_both.c[column.name] for column in UNBILLED_ORDER), _both.c.kind
)


class SqlSubscriptionParts(Repository):
    def __init__(
        self,
        source: ConnectionSource,
        cache: VersionCache[SubscriptionParts],
        after_commit: Callable[[Callable[[], None]], None],
        ahead: ReadAhead,
    ) -> None:
        super().__init__(source)
        self._cache = cache
        self._after_commit = after_commit
        self._ahead = ahead

    def load(
        self, account_id: str, subscription_id: str, *, version: int, remember: bool = False
    ) -> SubscriptionParts:
        def read() -> SubscriptionParts:
            rows = self._ahead.take_parts(account_id, subscription_id, version)
            if rows is None:
                rows = fetch_rows(self._conn, *parts_read(account_id, subscription_id))
            return _parts(rows)

        return self._cache.answer(
            _key(account_id, subscription_id, version), read, remember=remember
        )

    def remember(
        self, account_id: str, subscription_id: str, parts: SubscriptionParts, *, version: int
    ) -> None:
        key = _key(account_id, subscription_id, version)
        self._after_commit(lambda: self._cache.put(key, parts))


def parts_read(account_id: str, subscription_id: str) -> tuple[Select[Any], dict[str, Any]]:
    """The statement reading a subscription's parts, and its values (``fetch_rows``); also sent
    ahead with a locked read (``store/read_ahead.py``)."""
    return _PARTS, {"account_id": account_id, "subscription_id": subscription_id}


def _parts(rows: Sequence[Any]) -> SubscriptionParts:
    return SubscriptionParts(
        addons={r.kind: r.quantity for r in rows if r.part == _ADDON},
        pending=tuple(pending_line(r) for r in rows if r.part == _PENDING),
    )


def _key(account_id: str, subscription_id: str, version: int) -> VersionKey:
    return (account_id, subscription_id, version, ())
