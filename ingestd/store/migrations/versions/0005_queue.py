"""queue: indexes for per-job claims, the rescuer and the worker registry

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Claims read each chosen job's best queued files in index order (fairness picks the jobs),
    # so the global (status, priority, id) order is no longer used; (job_id, status) is a prefix
    # of the new index and goes too: one index less to update on every state change.
    op.drop_index("ix_files_claim_order", table_name="files")
    op.drop_index("ix_files_job_id_status", table_name="files")
    op.create_index(
        "ix_files_job_claim_order",
        "files",
        ["job_id", "status", sa.text("priority_rank DESC"), "id"],
        unique=False,
    )
    # The rescuer looks for running files whose lease ran out; status counts use the prefix.
    op.create_index(
        "ix_files_status_lease_expires_at",
        "files",
        ["status", "lease_expires_at"],
        unique=False,
    )
    # The registry lists recent workers and forgets long-gone ones.
    op.create_index("ix_workers_last_seen", "workers", ["last_seen"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_workers_last_seen", table_name="workers")
    op.drop_index("ix_files_status_lease_expires_at", table_name="files")
    op.drop_index("ix_files_job_claim_order", table_name="files")
    op.create_index("ix_files_job_id_status", "files", ["job_id", "status"], unique=False)
    op.create_index(
        "ix_files_claim_order",
        "files",
        ["status", sa.text("priority_rank DESC"), "id"],
        unique=False,
    )
