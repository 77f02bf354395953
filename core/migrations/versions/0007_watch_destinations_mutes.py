"""watches: paused, destinations, secret; watch_mutes; outbox channel

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watches") as batch:
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("destinations", sa.Text(), nullable=False,
                                   server_default="[]"))
        batch.add_column(sa.Column("secret", sa.String(length=64), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=16), nullable=False,
                                   server_default="email"))
    op.create_table(
        "watch_mutes",
        sa.Column("watch_id", sa.String(length=32), nullable=False),
        sa.Column("story_id", sa.String(length=32), nullable=False),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["watch_id"], ["watches.id"],
                                name=op.f("fk_watch_mutes_watch_id_watches"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("watch_id", "story_id", name=op.f("pk_watch_mutes")),
    )


def downgrade() -> None:
    op.drop_table("watch_mutes")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("channel")
    with op.batch_alter_table("watches") as batch:
        batch.drop_column("secret")
        batch.drop_column("destinations")
        batch.drop_column("paused")
