"""release 1.2.0: users.email_address, the new name of users.email (expand half of a rename)

Release 1.2.0 writes both email and email_address and reads coalesce(email_address, email), so
rows written by 1.1.0 during its rollout (email only) and rows written later by 1.3.0
(email_address only) both read right. The rename finishes in two more steps: e1_3_backfill_email
(expand, 1.3.0) and c1_3_drop_email (contract, after 1.3.0 is fully rolled out).

Revision ID: e1_2_email_address
Revises: e1_1_order_note
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e1_2_email_address"
down_revision = "e1_1_order_note"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email_address", sa.String(255), nullable=True))
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_users_email_address", "users", ["email_address"], unique=True, postgresql_concurrently=True
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_users_email_address", table_name="users", postgresql_concurrently=True)
    op.drop_column("users", "email_address")
