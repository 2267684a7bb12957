"""expand branch: revisions that run before the code deploy

Revision ID: expand_root
Revises: baseline_1_0
"""

from __future__ import annotations

revision = "expand_root"
down_revision = "baseline_1_0"
branch_labels = ("expand",)
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
