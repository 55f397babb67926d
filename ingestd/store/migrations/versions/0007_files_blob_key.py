"""files: index blob_key for the blob garbage collector's reference check

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The collector asks, for batches of stored blobs, which ones a file row still names.
    op.create_index("ix_files_blob_key", "files", ["blob_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_files_blob_key", table_name="files")
