"""release 1.3.0: copy email into email_address, and let writers leave email out

Runs before 1.3.0 deploys; by then only 1.2.0 is live and it writes both columns, so one backfill
covers every row. Release 1.3.0 stops writing users.email, so its NOT NULL is relaxed here:
the old column must accept 1.3.0's inserts until the contract step drops it.

Revision ID: e1_3_backfill_email
Revises: e1_2_email_address
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e1_3_backfill_email"
down_revision = "e1_2_email_address"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE users SET email_address = email WHERE email_address IS NULL")
    with op.batch_alter_table("users") as batch_op:  # batch mode: SQLite cannot ALTER COLUMN
        batch_op.alter_column("email", existing_type=sa.String(255), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(255), nullable=False)
