"""The shop's models as release 1.3.0 maps them.

History of the users' email column (a rename done as expand/contract):
  1.0.0  users.email
  1.2.0  adds users.email_address; writes both columns, reads coalesce(email_address, email)
  1.3.0  reads and writes only email_address: the first release that no longer uses users.email
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_address: Mapped[str | None] = mapped_column(sa.String(255), index=True, unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    note: Mapped[str | None] = mapped_column(sa.Text)  # since 1.1.0
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=sa.func.now(), index=True)
