"""batches: batch decisions over a histogram range, their decisions and skips, and their undo

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table("batches",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("actor", sa.String(length=200), nullable=False),
                    sa.Column("action", sa.String(length=10), nullable=False),
                    sa.Column("reason_code", sa.String(length=40), nullable=True),
                    sa.Column("measure", sa.String(length=200), nullable=False),
                    sa.Column("low", sa.Float(), nullable=False),
                    sa.Column("high", sa.Float(), nullable=False),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("decision_ids", JSON, nullable=False),
                    sa.Column("skipped", JSON, nullable=False),
                    sa.Column("undone_by", sa.String(length=200), nullable=True),
                    sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
                    sa.Column("undo_skipped", JSON, nullable=False),
                    sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_batches_created_at", "batches", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_batches_created_at", table_name="batches")
    op.drop_table("batches")
