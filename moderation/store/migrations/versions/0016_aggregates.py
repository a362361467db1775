"""aggregates and comment_sentiments: research and model page figures, precomputed by the workers

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table("aggregates",
                    sa.Column("key", sa.String(length=200), nullable=False),
                    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("fingerprint", JSON, nullable=False),
                    sa.Column("seconds", sa.Float(), nullable=False),
                    sa.Column("data", JSON, nullable=False),
                    sa.PrimaryKeyConstraint("key"))
    op.create_table("comment_sentiments",
                    sa.Column("comment_id", sa.Integer(), nullable=False),
                    sa.Column("value", sa.Float(), nullable=True),
                    sa.Column("model", sa.String(length=200), nullable=False),
                    sa.ForeignKeyConstraint(["comment_id"], ["comments.id"]),
                    sa.PrimaryKeyConstraint("comment_id"))


def downgrade() -> None:
    op.drop_table("comment_sentiments")
    op.drop_table("aggregates")
