"""`adopt` and `init` on the alembic.ini files real projects have, and config files that cannot be read.

After `adopt`, plain Alembic (run where the project is) must find both branch roots through the
version_locations adopt wrote, however the file separates them; a failed command leaves files as
they were.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import alembic
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result

from expandcontract.cli.main import cli
from expandcontract.settings import URL_ENV

# the legacy ways of separating version_locations are what these projects have, on purpose
pytestmark = [
    pytest.mark.filterwarnings("ignore:No path_separator found:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The version_path_separator configuration:DeprecationWarning"),
]

ALEMBIC_TEMPLATE = Path(alembic.__file__).resolve().parent / "templates" / "generic"

USERS = '''"""users"""
import sqlalchemy as sa
from alembic import op

revision = "a1_users"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))
'''


@pytest.fixture(autouse=True)
def no_url_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Exit 2, exactly one line on stderr starting `expandcontract: error:`, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("expandcontract: error: ")
    for fragment in fragments:
        assert fragment in line
    return line


def alembic_project(folder: Path, alembic_section: str, *, template: bool = True) -> Path:
    """An unphased project as `alembic init alembic` leaves it, with one revision and this [alembic] body."""
    script_dir = folder / "alembic"
    (script_dir / "versions").mkdir(parents=True)
    shutil.copy(ALEMBIC_TEMPLATE / "env.py", script_dir / "env.py")
    if template:
        shutil.copy(ALEMBIC_TEMPLATE / "script.py.mako", script_dir / "script.py.mako")
    (script_dir / "versions" / "a1_users.py").write_text(USERS, encoding="utf-8")
    ini = folder / "alembic.ini"
    ini.write_text(f"[alembic]\n{alembic_section}sqlalchemy.url = sqlite:///app.db\n", encoding="utf-8")
    return ini


# --- 14. adopt keeps alembic.ini readable by Alembic -----------------------------------------------


@pytest.mark.parametrize(
    "version_settings",
    [
        "path_separator = space\nversion_locations = alembic/versions\n",
        "version_path_separator = os\nversion_locations = alembic/versions\n",
        "version_locations = alembic/versions\n",
        "path_separator = newline\nversion_locations =\n    alembic/versions\n",
        "version_path_separator = newline\nversion_locations =\n    alembic/versions\n",
        "path_separator = os\n",
    ],
    ids=[
        "path_separator-space",
        "version_path_separator-os",
        "no-separator",
        "path_separator-newline",
        "version_path_separator-newline",
        "no-version_locations",
    ],
)
def test_plain_alembic_sees_both_branch_roots_after_adopt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version_settings: str
) -> None:
    ini = alembic_project(tmp_path, f"script_location = alembic\n{version_settings}")
    before = ini.read_text(encoding="utf-8").splitlines()
    monkeypatch.chdir(tmp_path)

    adopted = run("adopt")

    assert adopted.exit_code == 0, adopted.output
    # only version_locations changed: every other line is still there
    after = ini.read_text(encoding="utf-8").splitlines()
    assert [line for line in before if not line.startswith(("version_locations", " "))] == [
        line for line in after if not line.startswith(("version_locations", " "))
    ]
    assert "common root a1_users; " in adopted.stdout
    script = ScriptDirectory.from_config(Config(str(ini)))
    heads = [script.get_revision(head) for head in script.get_heads()]
    assert sorted(label for head in heads if head for label in head.branch_labels) == ["contract", "expand"]
    assert all(head is not None and head.down_revision == "a1_users" for head in heads)
    assert {Path(head.path).parent.name for head in heads if head} == {"expand", "contract"}

    again = run("adopt")

    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "already adopted: the project has its expand and contract branches"


def test_adopt_without_script_py_mako_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini = alembic_project(
        tmp_path, "script_location = alembic\nversion_locations = alembic/versions\n", template=False
    )
    before = ini.read_bytes()
    monkeypatch.chdir(tmp_path)

    assert_one_line_error(run("adopt"), "script.py.mako", "not found")

    assert ini.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "alembic" / "versions").iterdir()) == ["a1_users.py"]


def test_init_into_a_path_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "migrations").write_text("not a folder", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert_one_line_error(run("init", "migrations"), "migrations", "exists and is not a folder")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["migrations"]
    assert (tmp_path / "migrations").read_text(encoding="utf-8") == "not a folder"


def test_init_into_a_folder_with_a_percent_sign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    init = run("init", "mig%x")

    assert init.exit_code == 0, init.output
    assert (tmp_path / "mig%x" / "env.py").is_file()
    assert len(list((tmp_path / "mig%x" / "versions" / "expand").glob("*.py"))) == 1
    check = run("check")
    assert check.exit_code == 0, check.output
    assert check.stdout.strip() == "layout ok"
    # and Alembic itself reads the file init wrote
    script = ScriptDirectory.from_config(Config(str(tmp_path / "alembic.ini")))
    assert Path(script.dir) == tmp_path / "mig%x"
    assert len(script.get_heads()) == 2


# --- 15. an alembic.ini that does not interpolate ------------------------------------------------


@pytest.mark.parametrize(
    "alembic_section",
    [
        "script_location = %(nope)s/x\n",
        "script_location = alembic\nversion_locations = %(nope)s/versions\n",
        "script_location = alembic\nsqlalchemy.url = postgresql://app:p%40ss@db/app\n",
    ],
    ids=["script_location", "version_locations", "url-with-percent"],
)
@pytest.mark.parametrize("command", ["classify", "check", "adopt", "status"])
def test_an_interpolation_error_is_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alembic_section: str, command: str
) -> None:
    (tmp_path / "alembic" / "versions").mkdir(parents=True)
    ini = tmp_path / "alembic.ini"
    ini.write_text(f"[alembic]\n{alembic_section}", encoding="utf-8")
    before = ini.read_bytes()
    monkeypatch.chdir(tmp_path)

    assert_one_line_error(run(command), str(ini))

    assert ini.read_bytes() == before
