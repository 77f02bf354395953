"""an index on articles.text_hash: an exact copy reuses its original's enrichment

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_text_hash", "articles", ["text_hash"])


def downgrade() -> None:
    op.drop_index("ix_articles_text_hash", table_name="articles")
