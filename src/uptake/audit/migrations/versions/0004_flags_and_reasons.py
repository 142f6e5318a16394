"""What each answer said beside its score: the unusual values it rests on, and the reasons shown.

Rows written before this revision keep every value; their new columns are null.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uptake_predictions") as batch:  # batch: SQLite cannot ALTER most things in place
        batch.add_column(sa.Column("flags", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("reasons", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("uptake_predictions") as batch:
        batch.drop_column("reasons")
        batch.drop_column("flags")
