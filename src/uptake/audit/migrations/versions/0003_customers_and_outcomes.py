"""Customer and batch ids on each prediction, and a table of realised outcomes.

Rows written before this revision keep every value; their new columns are null
(they cannot be joined to outcomes, and say so when monitored).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uptake_predictions") as batch:  # batch: SQLite cannot ALTER most things in place
        batch.add_column(sa.Column("customer_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("batch_id", sa.String(64), nullable=True))
    op.create_index("ix_uptake_predictions_customer_id", "uptake_predictions", ["customer_id"])
    op.create_index("ix_uptake_predictions_batch_id", "uptake_predictions", ["batch_id"])
    op.create_table(
        "uptake_outcomes",
        sa.Column("customer_id", sa.String(128), primary_key=True),
        sa.Column("outcome", sa.SmallInteger(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("import_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
    )
    op.create_index("ix_uptake_outcomes_import_id", "uptake_outcomes", ["import_id"])


def downgrade() -> None:
    op.drop_index("ix_uptake_outcomes_import_id", table_name="uptake_outcomes")
    op.drop_table("uptake_outcomes")
    op.drop_index("ix_uptake_predictions_batch_id", table_name="uptake_predictions")
    op.drop_index("ix_uptake_predictions_customer_id", table_name="uptake_predictions")
    with op.batch_alter_table("uptake_predictions") as batch:
        batch.drop_column("batch_id")
        batch.drop_column("customer_id")
