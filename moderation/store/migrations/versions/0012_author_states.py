"""author states and their action log; the parts of each triage result's risk (evidence)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table("author_states",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("source", sa.String(length=200), nullable=False),
                    sa.Column("author", sa.String(length=200), nullable=False),
                    sa.Column("state", sa.String(length=20), nullable=False),
                    sa.Column("until", sa.DateTime(timezone=True), nullable=True),
                    sa.Column("version", sa.Integer(), nullable=False),
                    sa.Column("reason", sa.Text(), nullable=False),
                    sa.Column("actor", sa.String(length=200), nullable=False),
                    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("id"),
                    sa.UniqueConstraint("source", "author", name="uq_author_states_source_author"))
    op.create_table("author_actions",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("source", sa.String(length=200), nullable=False),
                    sa.Column("author", sa.String(length=200), nullable=False),
                    sa.Column("action", sa.String(length=20), nullable=False),
                    sa.Column("reason", sa.Text(), nullable=False),
                    sa.Column("actor", sa.String(length=200), nullable=False),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("state_before", sa.String(length=20), nullable=False),
                    sa.Column("until_before", sa.DateTime(timezone=True), nullable=True),
                    sa.Column("state_after", sa.String(length=20), nullable=False),
                    sa.Column("until_after", sa.DateTime(timezone=True), nullable=True),
                    sa.Column("version", sa.Integer(), nullable=False),
                    sa.Column("undoes_id", sa.Integer(), nullable=True),
                    sa.Column("decision_ids", JSON, nullable=False),
                    sa.ForeignKeyConstraint(["undoes_id"], ["author_actions.id"]),
                    sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_author_actions_author", "author_actions", ["source", "author", "id"])
    # At most one undo per action, whatever writes the table.
    op.create_index("uq_author_actions_undoes", "author_actions", ["undoes_id"], unique=True)
    op.add_column("triage_results", sa.Column("evidence", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("triage_results") as batch:
        batch.drop_column("evidence")
    op.drop_table("author_actions")
    op.drop_table("author_states")
