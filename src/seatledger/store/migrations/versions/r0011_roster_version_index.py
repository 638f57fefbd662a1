"""Memberships are indexed by the version that last wrote them, within their workspace.

A process that kept a roster catches it up by reading the memberships stamped after the version
it kept (``store/repositories/rosters.py``: ``_catch_up``). Without an index the read tested the
stamp of every membership of the workspaces: O(members) for each change another process made
(about 1 ms on PostgreSQL and 0.6 ms on SQLite at 2,000 members). With
``(account_id, workspace_id, roster_version)`` it reads only the rows written since.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_memberships_roster_version",
        "memberships",
        ["account_id", "workspace_id", "roster_version"],
    )


def downgrade() -> None:
    op.drop_index("ix_memberships_roster_version", table_name="memberships")
