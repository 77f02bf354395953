"""enrichment: language note, entities, topics, quotes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 06:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(
            sa.Column("enriched_revision", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("enrich_note", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "article_entities",
        sa.Column("article_id", sa.String(32), sa.ForeignKey("articles.id", ondelete="CASCADE",
                  name=op.f("fk_article_entities_article_id_articles")), primary_key=True),
        sa.Column("entity_id", sa.String(200), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("first_pos", sa.Integer(), nullable=False),
        sa.Column("in_title", sa.Boolean(), nullable=False),
        sa.Column("salience", sa.Float(), nullable=False),
        sa.Column("surfaces", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "entity_id", name=op.f("pk_article_entities")),
    )
    op.create_index("ix_article_entities_entity", "article_entities", ["entity_id"])
    op.create_table(
        "article_topics",
        sa.Column("article_id", sa.String(32), sa.ForeignKey("articles.id", ondelete="CASCADE",
                  name=op.f("fk_article_topics_article_id_articles")), primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "tag", name=op.f("pk_article_topics")),
    )
    op.create_index("ix_article_topics_tag", "article_topics", ["tag"])
    op.create_table(
        "article_quotes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.String(32), sa.ForeignKey("articles.id", ondelete="CASCADE",
                  name=op.f("fk_article_quotes_article_id_articles")), nullable=False),
        sa.Column("speaker", sa.Text(), nullable=False),
        sa.Column("speaker_id", sa.String(200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_quotes")),
    )
    op.create_index("ix_article_quotes_article", "article_quotes", ["article_id"])


def downgrade() -> None:
    op.drop_table("article_quotes")
    op.drop_table("article_topics")
    op.drop_table("article_entities")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("enrich_note")
        batch.drop_column("enriched_revision")
