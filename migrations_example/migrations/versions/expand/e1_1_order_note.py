"""release 1.1.0: orders get a note, and an index on created_at

Expand only: a nullable column and an index built CONCURRENTLY are invisible to release 1.0.0.

Revision ID: e1_1_order_note
Revises: expand_root
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e1_1_order_note"
down_revision = "expand_root"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction block
    with op.get_context().autocommit_block():
        op.create_index("ix_orders_created_at", "orders", ["created_at"], postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_orders_created_at", table_name="orders", postgresql_concurrently=True)
    op.drop_column("orders", "note")
