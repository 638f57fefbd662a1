"""A subscription's add-ons and unbilled pending lines, read together and kept by version
(``store/version_cache.py``)."""

from __future__ import annotations

from collections.abc import Callable

from seatledger.service.ports import SubscriptionParts
from seatledger.store.repositories._common import ConnectionSource, Repository
from seatledger.store.repositories.invoices import SqlPendingLines
from seatledger.store.repositories.subscriptions import SqlAddons
from seatledger.store.version_cache import VersionCache, VersionKey


class SqlSubscriptionParts(Repository):
    def __init__(
        self,
        source: ConnectionSource,
        addons: SqlAddons,
        pending_lines: SqlPendingLines,
        cache: VersionCache[SubscriptionParts],
        after_commit: Callable[[Callable[[], None]], None],
    ) -> None:
        super().__init__(source)
        self._addons = addons
        self._pending_lines = pending_lines
        self._cache = cache
        self._after_commit = after_commit

    def load(
        self, account_id: str, subscription_id: str, *, version: int, remember: bool = False
    ) -> SubscriptionParts:
        return self._cache.answer(
            _key(account_id, subscription_id, version),
            lambda: SubscriptionParts(
                addons=self._addons.counts(account_id, subscription_id),
                pending=self._pending_lines.unbilled(account_id, subscription_id),
            ),
            remember=remember,
        )

    def remember(
        self, account_id: str, subscription_id: str, parts: SubscriptionParts, *, version: int
    ) -> None:
        key = _key(account_id, subscription_id, version)
        self._after_commit(lambda: self._cache.put(key, parts))


def _key(account_id: str, subscription_id: str, version: int) -> VersionKey:
    return (account_id, subscription_id, version, ())
