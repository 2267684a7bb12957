"""Which project and which database a command finds: a monorepo's services, and plain `alembic`
commands run through the example's env.py (which asks expandcontract for the URL)."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from gate_support import shop_1_3_is_live

from expandcontract.settings import URL_ENV, load_settings

NO_ENV: dict[str, str] = {}
HEADS = {"c1_3_drop_email"}  # it depends_on e1_3_backfill_email, so Alembic records only it


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- 17. a monorepo: the closest configuration wins -----------------------------------------------


@pytest.fixture
def mono(tmp_path: Path) -> Path:
    """/mono/pyproject.toml names svc_a/alembic.ini; svc_b has an alembic.ini of its own."""
    root = tmp_path / "mono"
    write(root / "pyproject.toml", '[tool.expandcontract]\nalembic-config = "svc_a/alembic.ini"\n')
    for service in ("svc_a", "svc_b"):
        write(
            root / service / "alembic.ini",
            f"[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///{service}.db\n",
        )
    return root


def test_a_service_with_its_own_alembic_ini_uses_it(mono: Path) -> None:
    settings = load_settings(cwd=mono / "svc_b", environ=NO_ENV)

    assert settings.config_file is None
    assert settings.alembic_config == mono / "svc_b" / "alembic.ini"
    assert settings.project_dir == mono / "svc_b"
    assert settings.database_url == f"sqlite:///{mono / 'svc_b' / 'svc_b.db'}"


def test_a_subfolder_of_a_service_uses_that_service(mono: Path) -> None:
    (mono / "svc_b" / "app" / "models").mkdir(parents=True)

    settings = load_settings(cwd=mono / "svc_b" / "app" / "models", environ=NO_ENV)

    assert settings.alembic_config == mono / "svc_b" / "alembic.ini"


def test_the_service_the_pyproject_names_uses_the_pyproject(mono: Path) -> None:
    settings = load_settings(cwd=mono / "svc_a", environ=NO_ENV)

    assert settings.config_file == mono / "pyproject.toml"
    assert settings.project_dir == mono
    assert settings.alembic_config == mono / "svc_a" / "alembic.ini"
    assert settings.database_url == f"sqlite:///{mono / 'svc_a' / 'svc_a.db'}"


def test_the_monorepo_root_uses_the_pyproject(mono: Path) -> None:
    settings = load_settings(cwd=mono, environ=NO_ENV)

    assert settings.config_file == mono / "pyproject.toml"
    assert settings.alembic_config == mono / "svc_a" / "alembic.ini"


# --- 18, 19. plain `alembic` commands through the example's env.py --------------------------------
# Upgrading to heads runs the contract revision c1_3_drop_email: each test first has release 1.3.0
# (which no longer maps users.email) register in the database it expects to be migrated, where the
# gate reads its evidence; the upgrade going through shows the gate and Alembic agreed on it.


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """The example's env.py runs logging.fileConfig, which replaces handlers and disables loggers;
    put them back afterwards."""
    manager = logging.Logger.manager
    loggers = [
        logging.getLogger(),
        *(lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)),
    ]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate, lg.disabled) for lg in loggers]
    yield
    for logger, level, handlers, propagate, disabled in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.disabled = disabled


@pytest.fixture
def example(example_project: Path, monkeypatch: pytest.MonkeyPatch, keep_logging: None) -> Path:
    """The example copy as plain `alembic` runs it: from its folder, importing its own `shop`."""
    monkeypatch.setattr(sys, "path", [str(example_project), *sys.path])
    monkeypatch.setattr(sys, "path_importer_cache", dict(sys.path_importer_cache))
    for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.chdir(example_project)
    pyproject = example_project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert 'database-url = "sqlite:///shop.db"' in text
    pyproject.write_text(text.replace("sqlite:///shop.db", "sqlite:///other.db"), encoding="utf-8")
    return example_project


def version_heads(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    finally:
        engine.dispose()


def test_plain_alembic_upgrade_migrates_the_pyproject_database(example: Path) -> None:
    shop_1_3_is_live(f"sqlite:///{example / 'other.db'}")  # the gate reads its evidence there too

    command.upgrade(Config(str(example / "alembic.ini")), "heads")

    assert version_heads(f"sqlite:///{example / 'other.db'}") == HEADS
    assert not (example / "shop.db").exists()  # alembic.ini's sqlalchemy.url is the lower precedence


def test_the_environment_url_beats_the_pyproject_and_alembic_ini(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "from_env.db"
    monkeypatch.setenv(URL_ENV, f"sqlite:///{target}")
    shop_1_3_is_live(f"sqlite:///{target}")

    command.upgrade(Config(str(example / "alembic.ini")), "heads")

    assert version_heads(f"sqlite:///{target}") == HEADS
    assert not (example / "other.db").exists()
    assert not (example / "shop.db").exists()


def test_a_url_set_on_the_config_in_code_beats_the_pyproject(example: Path, pg_url: str) -> None:
    cfg = Config(str(example / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", pg_url)
    shop_1_3_is_live(pg_url)

    command.upgrade(cfg, "heads")

    assert version_heads(pg_url) == HEADS
    assert not (example / "other.db").exists()
    assert not (example / "shop.db").exists()


def test_plain_alembic_current_runs_through_the_hook(example: Path) -> None:
    output = io.StringIO()
    cfg = Config(str(example / "alembic.ini"), stdout=output)
    command.upgrade(cfg, "expand@head")

    command.current(cfg)  # env.py calls before_migrations(); `current` has no target revision

    assert output.getvalue().split() == ["e1_3_backfill_email", "(effective", "head)"]
