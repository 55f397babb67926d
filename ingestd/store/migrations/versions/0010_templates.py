"""templates: templates, their versions, files' tables, records, their errors, mapping history;
job_sources.n_needs_mapping

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Time = sa.Float(precision=53)


def upgrade() -> None:
    with op.batch_alter_table("job_sources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("n_needs_mapping", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "templates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("approved_version", sa.Integer(), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
    )
    op.create_index(op.f("ix_templates_tenant_id"), "templates", ["tenant", "id"], unique=False)
    op.create_table(
        "template_versions",
        sa.Column("template_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("signature", Json, nullable=False),
        sa.Column("target_schema", Json, nullable=False),
        sa.Column("mapping", Json, nullable=False),
        sa.Column("diff", Json, nullable=True),
        sa.Column("source_file_id", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("submitted_by", sa.String(length=40), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_at", Time, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_template_versions_template_id_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("template_id", "version", name=op.f("pk_template_versions")),
    )
    op.create_index(
        op.f("ix_template_versions_tenant_fingerprint"),
        "template_versions",
        ["tenant", "fingerprint"],
        unique=False,
    )
    op.create_table(
        "file_tables",
        sa.Column("file_id", sa.String(length=40), nullable=False),
        sa.Column("table_index", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("signature", Json, nullable=False),
        sa.Column("samples", Json, nullable=False),
        sa.Column("template_id", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("valid_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error_counts", Json, nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_file_tables_file_id_files"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("file_id", "table_index", name=op.f("pk_file_tables")),
    )
    op.create_index(op.f("ix_file_tables_tenant_status"), "file_tables", ["tenant", "status"])
    op.create_index(
        op.f("ix_file_tables_template_id_version"), "file_tables", ["template_id", "version"]
    )
    op.create_index(op.f("ix_file_tables_job_id"), "file_tables", ["job_id"])
    op.create_table(
        "template_records",
        sa.Column("file_id", sa.String(length=40), nullable=False),
        sa.Column("table_index", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name=op.f("fk_template_records_file_id_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "table_index", "row", name=op.f("pk_template_records")),
    )
    op.create_table(
        "template_record_errors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_id", sa.String(length=40), nullable=False),
        sa.Column("table_index", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=300), nullable=True),
        sa.Column("field", sa.String(length=300), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name=op.f("fk_template_record_errors_file_id_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_record_errors")),
    )
    op.create_index(
        op.f("ix_template_record_errors_file_id_table_index_row"),
        "template_record_errors",
        ["file_id", "table_index", "row"],
    )
    op.create_table(
        "mapping_history",
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("source_key", sa.String(length=300), nullable=False),
        sa.Column("field", sa.String(length=300), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "source_key", "field", name=op.f("pk_mapping_history")),
    )


def downgrade() -> None:
    op.drop_table("mapping_history")
    op.drop_table("template_record_errors")
    op.drop_table("template_records")
    op.drop_table("file_tables")
    op.drop_table("template_versions")
    op.drop_table("templates")
    with op.batch_alter_table("job_sources", schema=None) as batch_op:
        batch_op.drop_column("n_needs_mapping")
