"""model registry in the database: model bytes, who created them, one active row, the activation log

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("data", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(length=200), nullable=False, server_default="system"))
        batch.alter_column("path", existing_type=sa.Text(), nullable=True)
    # At most one active model, whatever writes the table.
    op.create_index("uq_models_one_active", "models", ["active"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))
    op.create_table("model_activations",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("model_id", sa.Integer(), nullable=True),
                    sa.Column("previous_id", sa.Integer(), nullable=True),
                    sa.Column("action", sa.String(length=20), nullable=False),
                    sa.Column("actor", sa.String(length=200), nullable=False),
                    sa.Column("note", sa.Text(), nullable=False),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(["model_id"], ["models.id"]),
                    sa.ForeignKeyConstraint(["previous_id"], ["models.id"]),
                    sa.PrimaryKeyConstraint("id"))


def downgrade() -> None:
    op.drop_table("model_activations")
    op.drop_index("uq_models_one_active", table_name="models")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("created_by")
        batch.drop_column("data")

