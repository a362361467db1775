"""comment version: the number of decisions on a comment, the token a moderator's decision is based on

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("comments", sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE comments SET version = (SELECT count(*) FROM decisions WHERE decisions.comment_id = comments.id)")


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("version")
