"""rule revisions, their activation log, and rule hits as rows

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-20
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["rule_revisions.id"]),
        sa.ForeignKeyConstraint(["version"], ["rule_sets.version"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rule_revisions_version", "rule_revisions", ["version"])
    op.create_table(
        "rule_activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["revision_id"], ["rule_revisions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rule_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("triage_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"]),
        sa.ForeignKeyConstraint(["triage_id"], ["triage_results.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rule_hits_rule", "rule_hits", ["rule_id", "created_at"])
    op.create_index("ix_rule_hits_triage_id", "rule_hits", ["triage_id"])


def downgrade() -> None:
    op.drop_index("ix_rule_hits_triage_id", table_name="rule_hits")
    op.drop_index("ix_rule_hits_rule", table_name="rule_hits")
    op.drop_table("rule_hits")
    op.drop_table("rule_activations")
    op.drop_index("ix_rule_revisions_version", table_name="rule_revisions")
    op.drop_table("rule_revisions")
