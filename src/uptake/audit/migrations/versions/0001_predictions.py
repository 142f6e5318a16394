"""Create the predictions table of the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uptake_predictions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("inputs", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("decision", sa.SmallInteger(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
    )
    op.create_index("ix_uptake_predictions_created_at", "uptake_predictions", ["created_at"])
    op.create_index("ix_uptake_predictions_request_id", "uptake_predictions", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_uptake_predictions_request_id", table_name="uptake_predictions")
    op.drop_index("ix_uptake_predictions_created_at", table_name="uptake_predictions")
    op.drop_table("uptake_predictions")
