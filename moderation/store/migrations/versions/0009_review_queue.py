"""review queue: claims, and indexes for the queue's orders and filters

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("moderator", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"]),
        sa.PrimaryKeyConstraint("comment_id"),
    )
    op.create_index("ix_claims_moderator", "claims", ["moderator"])
    # Queue pages read one status in risk or time order, globally or per article; counts group by state.
    # The id closes every key: with many ties on (priority, risk) PostgreSQL would otherwise sort whole ties.
    op.create_index("ix_comments_queue_risk", "comments", ["status", "priority", "risk", "id"])
    op.create_index("ix_comments_queue_created", "comments", ["status", "created_at", "id"])
    op.create_index("ix_comments_article_queue", "comments", ["article_id", "status", "priority", "risk", "id"])
    op.create_index("ix_comments_state", "comments", ["status", "decided_by_human", "flagged"])
    # The reported queue is a thin slice of the approved comments: a partial index gives it its own order.
    op.create_index("ix_comments_reported", "comments", ["priority", "risk", "id"],
                    postgresql_where=sa.text("status = 'approved' AND flagged > 0 AND decided_by_human = false"),
                    sqlite_where=sa.text("status = 'approved' AND flagged > 0 AND decided_by_human = 0"))


def downgrade() -> None:
    op.drop_index("ix_comments_reported", table_name="comments")
    op.drop_index("ix_comments_state", table_name="comments")
    op.drop_index("ix_comments_article_queue", table_name="comments")
    op.drop_index("ix_comments_queue_created", table_name="comments")
    op.drop_index("ix_comments_queue_risk", table_name="comments")
    op.drop_index("ix_claims_moderator", table_name="claims")
    op.drop_table("claims")
