"""storage_probes: the storage monitor writes, reads back and deletes a row here every few seconds

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storage_probes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("written_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_probes")),
    )


def downgrade() -> None:
    op.drop_table("storage_probes")
