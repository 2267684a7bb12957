"""Alembic environment for an expand/contract project (written by `expandcontract init`)."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

from expandcontract.alembic_ext.envhook import before_migrations, database_url, expandcontract_options

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

from shop.models import Base  # noqa: E402

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """`--sql`: write the SQL instead of running it."""
    context.configure(
        url=database_url(config),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **expandcontract_options(config),  # version table, phased autogenerate
    )
    with context.begin_transaction():
        before_migrations(context)  # refuses contract revisions the gate blocks
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        {"sqlalchemy.url": database_url(config)}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        # one transaction per revision, so autocommit_block() (CONCURRENTLY) behaves predictably
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
            **expandcontract_options(config),  # version table, phased autogenerate
        )
        with context.begin_transaction():
            before_migrations(context)  # refuses contract revisions the gate blocks
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
