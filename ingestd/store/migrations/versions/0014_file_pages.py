"""files.pages, files.ocr_pages: how many pages a completed file had, and how many of them were
read by OCR (the File's ``pages``: ``{"total", "text_layer", "ocr"}``)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("pages", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ocr_pages", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("ocr_pages")
        batch.drop_column("pages")
