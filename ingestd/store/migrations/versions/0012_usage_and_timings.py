"""usage_daily, file_timings, job_step_timings: usage per tenant and day, where a job's time went

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("pipeline", sa.String(length=10), nullable=False),
        sa.Column("jobs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("files", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("chunks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("embeddings", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ocr_pages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cpu_seconds", sa.Float(precision=53), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("tenant", "day", "pipeline", name=op.f("pk_usage_daily")),
    )
    op.create_index(op.f("ix_usage_daily_day"), "usage_daily", ["day"], unique=False)
    op.create_table(
        "file_timings",
        sa.Column("file_id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("steps", Json, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name=op.f("fk_file_timings_file_id_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_file_timings")),
    )
    op.create_index(
        op.f("ix_file_timings_job_id_duration_ms"),
        "file_timings",
        ["job_id", "duration_ms"],
        unique=False,
    )
    op.create_table(
        "job_step_timings",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("files", sa.Integer(), server_default="0", nullable=False),
        sa.Column("wall_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cpu_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("max_wall_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_job_step_timings_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "step", name=op.f("pk_job_step_timings")),
    )


def downgrade() -> None:
    op.drop_table("job_step_timings")
    op.drop_table("file_timings")
    op.drop_index(op.f("ix_usage_daily_day"), table_name="usage_daily")
    op.drop_table("usage_daily")
