"""The port of fair billing's activity records (``domain/fair_billing.py``).

One record per (subscription, person): the last reported activity and the instant fair billing
stopped billing the person. Records are read and written by e-mail here; the store keys them by
person id, so an erased person's address is nowhere in them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from seatledger.domain.fair_billing import MemberActivity


class ActivityRepository(Protocol):
    def load(self, account_id: str, subscription_id: str) -> dict[str, MemberActivity]:
        """Every record of the subscription, by the person's e-mail (erased people left out)."""

    def save(
        self,
        account_id: str,
        subscription_id: str,
        *,
        upserts: Mapping[str, MemberActivity],
        deleted: Collection[str],
    ) -> None:
        """Write the records of ``upserts`` (person id -> record) and remove those of the person
        ids in ``deleted``."""
