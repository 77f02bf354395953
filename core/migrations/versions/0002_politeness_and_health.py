"""per-feed politeness overrides, feed health, entry dates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("min_delay_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("max_per_host", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_new_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("published_at")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("last_new_at")
        batch.drop_column("max_per_host")
        batch.drop_column("min_delay_seconds")
