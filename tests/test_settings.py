"""Where settings come from: the closest pyproject.toml, --config, alembic.ini, the environment, flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from expandcontract.errors import ConfigError
from expandcontract.settings import URL_ENV, Settings, load_settings

NO_ENV: dict[str, str] = {}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def pyproject(folder: Path, table: str, *, header: str = "[tool.expandcontract]\n") -> Path:
    return write(folder / "pyproject.toml", f'[project]\nname = "app"\n\n{header}{table}')


def load(cwd: Path, **kw: Any) -> Settings:
    kw.setdefault("environ", NO_ENV)
    return load_settings(cwd=cwd, **kw)


# --- finding the config file ------------------------------------------------------------------


def test_no_config_anywhere_uses_the_working_directory_and_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path)

    assert settings == Settings(project_dir=tmp_path.resolve())
    assert settings.dialect == "postgresql"
    assert settings.postgresql_version == 16
    assert settings.version_table == "alembic_version"


def test_the_closest_pyproject_with_the_table_wins(tmp_path: Path) -> None:
    pyproject(tmp_path / "outer", 'dialect = "mysql"\n')
    inner = pyproject(tmp_path / "outer" / "inner", 'dialect = "sqlite"\n')
    deeper = tmp_path / "outer" / "inner" / "src" / "pkg"
    deeper.mkdir(parents=True)

    settings = load(deeper)

    assert settings.config_file == inner
    assert settings.project_dir == inner.parent
    assert settings.dialect == "sqlite"


def test_a_closer_pyproject_without_the_table_is_skipped(tmp_path: Path) -> None:
    outer = pyproject(tmp_path / "repo", "postgresql-version = 15\n")
    write(tmp_path / "repo" / "service" / "pyproject.toml", '[project]\nname = "service"\n[tool.ruff]\n')

    settings = load(tmp_path / "repo" / "service")

    assert settings.config_file == outer
    assert settings.project_dir == outer.parent
    assert settings.postgresql_version == 15


def test_an_empty_table_still_marks_the_project(tmp_path: Path) -> None:
    config = pyproject(tmp_path / "repo", "")
    write(tmp_path / "repo" / "app" / "pyproject.toml", '[project]\nname = "app"\n')

    settings = load(tmp_path / "repo" / "app")

    assert settings.config_file == config
    assert settings.project_dir == config.parent


def test_config_flag_reads_a_plain_toml_file_of_top_level_keys(tmp_path: Path) -> None:
    config = write(
        tmp_path / "conf" / "expandcontract.toml", 'dialect = "sqlite"\nversion-table = "schema_v"\n'
    )
    pyproject(tmp_path, 'dialect = "mysql"\n')  # discovered from cwd, but --config wins

    settings = load(tmp_path, config=config)

    assert settings.config_file == config
    assert settings.project_dir == config.parent
    assert settings.dialect == "sqlite"
    assert settings.version_table == "schema_v"


def test_config_flag_reads_the_table_of_a_pyproject(tmp_path: Path) -> None:
    config = pyproject(tmp_path / "elsewhere", 'dialect = "mysql"\n')

    settings = load(tmp_path, config=config)

    assert settings.config_file == config
    assert settings.dialect == "mysql"


def test_config_flag_with_a_plain_file_that_has_the_table_reads_the_table(tmp_path: Path) -> None:
    config = write(tmp_path / "settings.toml", '[tool.expandcontract]\ndialect = "mysql"\n')

    assert load(tmp_path, config=config).dialect == "mysql"


def test_config_flag_with_a_pyproject_without_the_table_is_an_error(tmp_path: Path) -> None:
    config = write(tmp_path / "pyproject.toml", '[project]\nname = "app"\n')

    with pytest.raises(ConfigError, match=r"no \[tool.expandcontract\] table"):
        load(tmp_path, config=config)


def test_config_flag_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found") as err:
        load(tmp_path, config=tmp_path / "missing.toml")
    assert str(tmp_path / "missing.toml") in str(err.value)


def test_invalid_toml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "ec.toml", "dialect = \n")

    with pytest.raises(ConfigError, match="invalid TOML") as err:
        load(tmp_path, config=config)
    assert str(config) in str(err.value)


# --- keys and their types ---------------------------------------------------------------------


def test_every_key_is_read_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    write(tmp_path / "db" / "alembic.ini", "[alembic]\nscript_location = migrations\n")
    pyproject(
        tmp_path,
        'alembic-config = "db/alembic.ini"\n'
        'script-location = "db/migrations"\n'
        'version-locations = ["db/migrations/versions", "/abs/versions"]\n'
        "recursive-version-locations = true\n"
        'dialect = "sqlite"\n'
        'postgresql-version = "15.4"\n'
        'database-url = "postgresql://app@db/app"\n'
        'version-table = "schema_version"\n'
        'version-table-schema = "ops"\n',
    )

    settings = load(tmp_path / "db")

    assert settings.alembic_config == tmp_path / "db" / "alembic.ini"
    assert settings.script_location == tmp_path / "db" / "migrations"
    assert settings.version_locations == (tmp_path / "db" / "migrations" / "versions", Path("/abs/versions"))
    assert settings.recursive_version_locations is True
    assert settings.dialect == "sqlite"
    assert settings.postgresql_version == 15
    assert settings.database_url == "postgresql://app@db/app"
    assert settings.version_table == "schema_version"
    assert settings.version_table_schema == "ops"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('script-location = ""', "`script-location` must be a non-empty string path"),
        ("alembic-config = 3", "`alembic-config` must be a non-empty string path"),
        ('version-locations = ["ok", 7]', "`version-locations` must be a non-empty string path"),
    ],
    ids=["empty-path", "path-not-a-string", "list-item-not-a-path"],
)
def test_path_keys_must_be_non_empty_strings(tmp_path: Path, line: str, message: str) -> None:
    config = pyproject(tmp_path, line + "\n")

    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert str(err.value) == f"{config}: {message}"


def test_version_locations_must_be_a_list(tmp_path: Path) -> None:
    pyproject(tmp_path, 'version-locations = "migrations/versions"\n')

    with pytest.raises(ConfigError, match="`version-locations` must be a list of folders"):
        load(tmp_path)


@pytest.mark.parametrize("value", ['"yes"', "1"])
def test_recursive_version_locations_must_be_a_bool(tmp_path: Path, value: str) -> None:
    pyproject(tmp_path, f"recursive-version-locations = {value}\n")

    with pytest.raises(ConfigError, match="`recursive-version-locations` must be true or false"):
        load(tmp_path)


@pytest.mark.parametrize("name", ["postgresql", "sqlite", "mysql"])
def test_dialect_accepts_the_supported_dialects(tmp_path: Path, name: str) -> None:
    pyproject(tmp_path, f'dialect = "{name}"\n')

    assert load(tmp_path).dialect == name


@pytest.mark.parametrize("value", ['"oracle"', '"PostgreSQL"', "5"])
def test_dialect_rejects_anything_else(tmp_path: Path, value: str) -> None:
    pyproject(tmp_path, f"dialect = {value}\n")

    with pytest.raises(ConfigError, match="`dialect`"):
        load(tmp_path)


def test_unsupported_dialect_lists_the_choices(tmp_path: Path) -> None:
    pyproject(tmp_path, 'dialect = "oracle"\n')

    with pytest.raises(ConfigError, match="'oracle'; use one of postgresql, sqlite, mysql"):
        load(tmp_path)


@pytest.mark.parametrize(
    ("value", "major"), [("16", 16), ('"15"', 15), ('"14.2"', 14), ("9", 9), ("17.0", 17)]
)
def test_postgresql_version_takes_the_major_version(tmp_path: Path, value: str, major: int) -> None:
    pyproject(tmp_path, f"postgresql-version = {value}\n")

    assert load(tmp_path).postgresql_version == major


@pytest.mark.parametrize("value", ["8", "100", '"sixteen"', '""', "true", "[16]"])
def test_postgresql_version_must_be_a_major_version(tmp_path: Path, value: str) -> None:
    pyproject(tmp_path, f"postgresql-version = {value}\n")

    with pytest.raises(ConfigError, match=r"`postgresql-version` is .*; give a major version such as 16"):
        load(tmp_path)


@pytest.mark.parametrize("key", ["database-url", "version-table", "version-table-schema"])
@pytest.mark.parametrize("value", ['""', "42", "false"])
def test_string_keys_must_be_non_empty_strings(tmp_path: Path, key: str, value: str) -> None:
    pyproject(tmp_path, f"{key} = {value}\n")

    with pytest.raises(ConfigError, match=f"`{key}` must be a non-empty string"):
        load(tmp_path)


def test_an_unknown_key_is_named(tmp_path: Path) -> None:
    config = pyproject(tmp_path, 'dialect = "sqlite"\ndatabase_url = "sqlite://"\n')

    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert str(err.value).startswith(f"{config}: unknown key `database_url` in [tool.expandcontract]")


def test_alembic_config_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    pyproject(tmp_path, 'alembic-config = "db/alembic.ini"\n')

    with pytest.raises(ConfigError, match="alembic config file not found; fix `alembic-config`"):
        load(tmp_path)


# --- the database URL -------------------------------------------------------------------------


def test_environment_url_beats_the_config_file(tmp_path: Path) -> None:
    pyproject(tmp_path, 'database-url = "postgresql://file@db/app"\n')

    settings = load(tmp_path, environ={URL_ENV: "postgresql://env@db/app"})

    assert settings.database_url == "postgresql://env@db/app"


def test_an_empty_environment_url_is_ignored(tmp_path: Path) -> None:
    pyproject(tmp_path, 'database-url = "postgresql://file@db/app"\n')

    assert load(tmp_path, environ={URL_ENV: ""}).database_url == "postgresql://file@db/app"


def test_explicit_url_beats_the_environment(tmp_path: Path) -> None:
    pyproject(tmp_path, 'database-url = "postgresql://file@db/app"\n')

    settings = load(tmp_path, url="postgresql://flag@db/app", environ={URL_ENV: "postgresql://env@db/app"})

    assert settings.database_url == "postgresql://flag@db/app"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///shop.db", "sqlite:///{dir}/shop.db"),
        ("sqlite:///data/../shop.db", "sqlite:///{dir}/shop.db"),
        ("sqlite+pysqlite:///shop.db?timeout=5", "sqlite+pysqlite:///{dir}/shop.db?timeout=5"),
        ("sqlite:////var/db/shop.db", "sqlite:////var/db/shop.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite://", "sqlite://"),
        ("postgresql://app@db/shop.db", "postgresql://app@db/shop.db"),
    ],
)
def test_relative_sqlite_url_in_the_file_is_relative_to_the_file(
    tmp_path: Path, url: str, expected: str
) -> None:
    project = tmp_path / "project"
    pyproject(project, f'database-url = "{url}"\n')
    (project / "sub").mkdir()

    settings = load(project / "sub")  # the working directory does not matter

    assert settings.database_url == expected.format(dir=project.resolve())


def test_alembic_ini_url_is_used_when_nothing_else_gives_one(tmp_path: Path) -> None:
    write(
        tmp_path / "alembic.ini",
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///app.db\n",
    )

    settings = load(tmp_path)

    assert settings.alembic_config == tmp_path / "alembic.ini"
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/app.db"


def test_alembic_ini_url_expands_here(tmp_path: Path) -> None:
    write(tmp_path / "alembic.ini", "[alembic]\nsqlalchemy.url = sqlite:///%(here)s/app.db\n")

    assert load(tmp_path).database_url == f"sqlite:///{tmp_path.resolve()}/app.db"


def test_alembic_ini_named_in_the_file_gives_the_url(tmp_path: Path) -> None:
    write(tmp_path / "db" / "alembic.ini", "[alembic]\nsqlalchemy.url = postgresql://ini@db/app\n")
    pyproject(tmp_path, 'alembic-config = "db/alembic.ini"\n')

    assert load(tmp_path).database_url == "postgresql://ini@db/app"


def test_alembic_ini_placeholder_url_is_ignored(tmp_path: Path) -> None:
    write(tmp_path / "alembic.ini", "[alembic]\nsqlalchemy.url = driver://user:pass@localhost/dbname\n")

    settings = load(tmp_path)

    assert settings.alembic_config == tmp_path / "alembic.ini"
    assert settings.database_url is None


def test_the_config_file_url_beats_alembic_ini(tmp_path: Path) -> None:
    write(tmp_path / "alembic.ini", "[alembic]\nsqlalchemy.url = postgresql://ini@db/app\n")
    pyproject(tmp_path, 'database-url = "postgresql://file@db/app"\n')

    assert load(tmp_path).database_url == "postgresql://file@db/app"


def test_the_environment_url_beats_alembic_ini(tmp_path: Path) -> None:
    write(tmp_path / "alembic.ini", "[alembic]\nsqlalchemy.url = postgresql://ini@db/app\n")

    assert (
        load(tmp_path, environ={URL_ENV: "postgresql://env@db/app"}).database_url == "postgresql://env@db/app"
    )


# --- the project ------------------------------------------------------------------------------


def test_alembic_ini_in_the_project_folder_is_found(tmp_path: Path) -> None:
    write(tmp_path / "alembic.ini", "[alembic]\nscript_location = migrations\n")
    pyproject(tmp_path, 'dialect = "postgresql"\n')
    (tmp_path / "src").mkdir()

    settings = load(tmp_path / "src")

    assert settings.alembic_config == tmp_path / "alembic.ini"
    assert settings.script_location is None


def test_script_location_clears_alembic_config(tmp_path: Path) -> None:
    write(tmp_path / "alembic.ini", "[alembic]\nscript_location = migrations\n")
    scripts = tmp_path / "other_scripts"

    settings = load(tmp_path, script_location=scripts)

    assert settings.alembic_config is None
    assert settings.script_location == scripts.resolve()
    settings.require_project()  # a bare script directory is a project


def test_require_url_says_how_to_give_one(tmp_path: Path) -> None:
    settings = load(tmp_path)

    with pytest.raises(ConfigError) as err:
        settings.require_url()
    message = str(err.value)
    assert message.startswith("no database URL")
    assert "--url" in message
    assert URL_ENV in message
    assert "database-url" in message
    assert "\n" not in message


def test_require_url_returns_the_url(tmp_path: Path) -> None:
    assert load(tmp_path, url="sqlite://").require_url() == "sqlite://"


def test_require_project_says_how_to_find_one(tmp_path: Path) -> None:
    settings = load(tmp_path)

    with pytest.raises(ConfigError) as err:
        settings.require_project()
    message = str(err.value)
    assert message.startswith(f"no Alembic project found from {tmp_path.resolve()}")
    for hint in ("alembic.ini", "--script-location", "--config", "expandcontract init"):
        assert hint in message
    assert "\n" not in message
