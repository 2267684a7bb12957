"""Reading a history shaped like large real projects (tests/fixtures/complex_history):
two bases with their own branch labels, a merge, nested version folders read recursively,
phase branches in a release folder, depends_on on a revision and on a branch label."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from expandcontract import api
from expandcontract.cli.main import cli
from expandcontract.model import DeclaredPhase
from expandcontract.settings import load_settings

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "complex_history"
CONFIG = FIXTURE / "expandcontract.toml"


def test_every_revision_is_read_with_its_declared_phase(tmp_path: Path) -> None:
    results = api.classify(load_settings(config=CONFIG, cwd=tmp_path))
    phases = {r.info.revision: r.info.declared_phase for r in results}
    assert phases == {
        "core_base": DeclaredPhase.BASELINE,
        "plugin_base": DeclaredPhase.BASELINE,
        "plugin_two": DeclaredPhase.BASELINE,
        "merge_bases": DeclaredPhase.BASELINE,
        "expand_2025": DeclaredPhase.EXPAND,
        "add_owner": DeclaredPhase.EXPAND,
        "plugin_flag": DeclaredPhase.EXPAND,
        "contract_2025": DeclaredPhase.CONTRACT,
        "drop_legacy_owner": DeclaredPhase.CONTRACT,
    }
    order = [r.info.revision for r in results]
    assert order.index("merge_bases") > max(order.index("core_base"), order.index("plugin_two"))
    by_id = {r.info.revision: r.info for r in results}
    assert by_id["merge_bases"].is_merge
    assert by_id["plugin_flag"].depends_on == ("plugin_base",)  # a label names the revision carrying it
    assert by_id["drop_legacy_owner"].depends_on == ("add_owner",)


def test_the_layout_of_release_folders_is_sound(tmp_path: Path) -> None:
    assert api.check(load_settings(config=CONFIG, cwd=tmp_path)) == []


def test_a_contract_that_forgets_its_expand_revision_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "history"
    shutil.copytree(FIXTURE, copy)
    contract = copy / "versions/2025/contract/drop_legacy_owner.py"
    contract.write_text(contract.read_text().replace('depends_on = ("add_owner",)', "depends_on = None"))
    violations = api.check(load_settings(config=copy / "expandcontract.toml", cwd=tmp_path))
    assert [(v.code, Path(v.path).name) for v in violations] == [("EC005", "drop_legacy_owner.py")]
    assert "add_owner" in violations[0].message and "accounts.legacy_owner" in violations[0].message


def test_cli_reads_it_without_alembic_ini_or_env_py(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(CONFIG), "classify", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    drop = next(r for r in doc["revisions"] if r["revision"] == "drop_legacy_owner")
    assert drop["declared_phase"] == "contract" and drop["inferred_phase"] == "contract"
    assert [(c["kind"], c["target"], c["line"]) for c in drop["changes"]] == [
        ("drop-column", "accounts.legacy_owner", 12)
    ]


def test_without_recursive_locations_the_broken_graph_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "flat.toml"
    config.write_text(f'script-location = "{FIXTURE}"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "classify"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "expandcontract: error:" in result.output
