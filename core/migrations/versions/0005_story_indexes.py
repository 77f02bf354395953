"""indexes that keep the story stage flat as the store grows; story memory apart

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 07:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dedup_bands_article", "dedup_bands", ["article_id"])
    op.create_index("ix_story_keys_key_updated", "story_keys", ["key", "last_updated"])
    with op.batch_alter_table("stories") as batch:
        batch.add_column(sa.Column("memory", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("memory")
    op.drop_index("ix_story_keys_key_updated", table_name="story_keys")
    op.drop_index("ix_dedup_bands_article", table_name="dedup_bands")
