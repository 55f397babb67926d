"""files.document_key: the extracted document, stored once in the blob store

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The sha256 of the document's JSON: content-addressed, so identical documents share a blob.
    op.add_column("files", sa.Column("document_key", sa.String(64), nullable=True))
    # The blob collector asks whether a document blob is still named by a file row.
    op.create_index("ix_files_document_key", "files", ["document_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_files_document_key", table_name="files")
    op.drop_column("files", "document_key")
