"""Lint the real Alembic histories that ship inside PyPI wheels: no crash, and an honest account.

Downloads a few wheels that carry their whole Alembic script directory (Airflow, MLflow, Superset,
ZenML, Prefect, Dagster, ...) with `pip download --no-deps` into a temporary folder (never into
the repository), extracts only the script directory of each, and runs

    expandcontract lint --no-cache --script-location DIR --format json

from an empty folder, so the package itself is not importable: whatever the revisions import from
it is read through stand-ins, as on a machine without the application installed. For each history
it prints the revisions read, how many were fully analysed (run offline: operations and SQL) and
how many only from their AST (EC902, with the reason the JSON gives), the findings per code and the
time. Exit status 1 if lint crashed on any of them (an exit status other than 0 or 1, or a
traceback) or fewer than --goal percent of all revisions were fully analysed; 2 on a download or
usage problem.

    python bench/real_histories.py [--package REQ ...] [--download-dir DIR] [--reasons]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.utils import parse_wheel_filename


@dataclass(frozen=True)
class Known:
    """Where a package keeps its Alembic script directory inside the wheel."""

    script_dir: str
    versions: tuple[str, ...] = ()  # version locations below script_dir, when not versions/


# requirement name -> where its history is; the requirement on the command line may pin a version
KNOWN: dict[str, Known] = {
    "apache-airflow": Known("airflow/migrations"),  # 2.x; from 3.0 on the history is in -core
    "apache-airflow-core": Known("airflow/migrations"),
    "mlflow": Known("mlflow/store/db_migrations"),
    "apache-superset": Known("superset/migrations"),
    "zenml": Known("zenml/zen_stores/migrations"),
    "prefect": Known("prefect/server/database/_migrations", ("versions/postgresql",)),
    "dagster": Known("dagster/_core/storage/alembic"),
    "optuna": Known("optuna/storages/_rdb/alembic"),
}
DEFAULT_PACKAGES = (
    "apache-airflow<3",
    "apache-airflow-core",
    "mlflow",
    "apache-superset",
    "zenml",
    "prefect",
    "dagster",
)


@dataclass(frozen=True)
class Unread:
    """A revision read from its AST only: why, and the line of code the reason points at."""

    name: str
    reason: str
    code: str

    @property
    def group(self) -> str:
        return reason_group(self.reason, self.code)


@dataclass
class Outcome:
    requirement: str
    version: str = "?"
    script_dir: str = ""
    revisions: int = 0
    offline: int = 0
    ast_only: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    unread: list[Unread] = field(default_factory=list)
    seconds: float = 0.0
    crash: str = ""  # how lint failed, with the command to repeat it
    stderr_lines: int = 0  # lines the revisions (or lint) wrote to stderr

    @property
    def percent(self) -> float:
        return 100.0 * self.offline / self.revisions if self.revisions else 0.0


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return match.group(0).lower().replace("_", "-") if match else requirement


def download(requirement: str, folder: Path) -> Path:
    """The wheel of `requirement` (no dependencies), downloaded into `folder` unless already there."""
    before = set(folder.glob("*.whl"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "--dest",
            str(folder),
            requirement,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip download {requirement} failed: {done.stderr.strip().splitlines()[-1:]}")
    name = requirement_name(requirement)
    new = set(folder.glob("*.whl")) - before
    found = new or {
        w for w in folder.glob("*.whl") if str(parse_wheel_filename(w.name)[0]) == name
    }  # already downloaded: pip says nothing, so take the one of that name
    if not found:
        raise RuntimeError(f"pip download {requirement}: no wheel in {folder}")
    return max(found, key=lambda w: parse_wheel_filename(w.name)[1])


def find_script_dir(names: list[str]) -> str | None:
    """The folder in a wheel holding env.py and the most revision files below versions/."""
    best: tuple[int, str] | None = None
    for name in names:
        path = PurePosixPath(name)
        if path.name != "env.py":
            continue
        folder = str(path.parent)
        count = sum(1 for n in names if n.startswith(f"{folder}/versions/") and n.endswith(".py"))
        if count and (best is None or count > best[0]):
            best = (count, folder)
    return best[1] if best else None


def extract(wheel: Path, name: str, into: Path) -> tuple[Path, tuple[Path, ...]]:
    """Extract the Alembic script directory of `wheel`: (its folder, version locations if not versions/)."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        known = KNOWN.get(name)
        script_dir = known.script_dir if known else find_script_dir(names)
        if script_dir is None or f"{script_dir}/env.py" not in names:
            raise RuntimeError(f"{wheel.name}: no Alembic script directory (env.py and versions/) found")
        members = [n for n in names if n.startswith(f"{script_dir}/")]
        archive.extractall(into, members)
    versions = tuple(into / script_dir / v for v in known.versions) if known else ()
    return into / script_dir, versions


def lint(script_dir: Path, versions: tuple[Path, ...], work: Path, outcome: Outcome) -> None:
    """Run `expandcontract lint` on the history from the empty folder `work`; fill in `outcome`."""
    exe = Path(sys.executable).parent / "expandcontract"
    cmd = [str(exe) if exe.exists() else "expandcontract"]
    if versions:
        config = work / "expandcontract.toml"
        config.write_text(
            "version-locations = [" + ", ".join(json.dumps(str(v)) for v in versions) + "]\n",
            encoding="utf-8",
        )
        cmd += ["--config", str(config)]
    cmd += ["lint", "--no-cache", "--script-location", str(script_dir), "--format", "json"]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
    outcome.seconds = time.perf_counter() - start
    stderr = done.stderr.strip()
    outcome.stderr_lines = len(stderr.splitlines())
    repro = f"(cd {work} && {' '.join(cmd)})"
    if done.returncode not in (0, 1) or "Traceback (most recent call last)" in stderr:
        tail = "\n    ".join(stderr.splitlines()[-6:])
        outcome.crash = f"exit {done.returncode}: {repro}\n    {tail}"
        return
    try:
        doc = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        outcome.crash = f"output is not JSON ({exc}): {repro}"
        return
    files = doc["files"]
    outcome.revisions = len(files)
    for item in files:
        if item["read_mode"] == "offline":
            outcome.offline += 1
        else:
            outcome.ast_only += 1
            reason = item["unreadable_reason"] or "(no reason given)"
            outcome.unread.append(Unread(Path(item["path"]).name, reason, source_line(item["path"], reason)))
        outcome.codes.update(f["code"] for f in item["findings"])
    outcome.codes.update(f["code"] for f in doc["other_findings"])


def source_line(path: str, reason: str) -> str:
    """The line of the revision that a reason names ("(line 45)", "at line 37"), stripped."""
    match = re.search(r"line (\d+)", reason)
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    if not match or not 0 < int(match.group(1)) <= len(lines):
        return ""
    return lines[int(match.group(1)) - 1].strip()


# (pattern on the reason, pattern on the line it names or None, the group)
_GROUPS: tuple[tuple[str, str | None, str], ...] = (
    (r"live database", r"inspect\(|Inspector", "live database: reflection through sa.inspect()/Inspector"),
    (
        r"live database",
        r"\.engine\b",
        "live database? no: `bind.engine` (.name/.dialect), which OfflineBind lacks",
    ),
    (r"live database", r"\.reflect\(|autoload", "live database: MetaData.reflect() / autoload_with"),
    (
        r"live database",
        r"session|\.query\(|\.(all|count|first|one|scalar)\(\)",
        "live database: an ORM session query",
    ),
    (
        r"live database",
        r"\.create\(",
        "live database: a type's .create(bind) (checkfirst queries the catalog)",
    ),
    (r"live database", None, "live database: other"),
    (r"not installed \(TypeError\)", r"create_table|Column", "stand-in used as a column type (TypeError)"),
    (
        r"not installed \(ArgumentError\)",
        r"server_default",
        "stand-in used as a server_default (ArgumentError)",
    ),
    (
        r"not installed \(ArgumentError\)",
        r"query|select|insert",
        "stand-in ORM model in a query (ArgumentError)",
    ),
    (r"not installed", r"getenv|environ", "stand-in constant in os.getenv() (TypeError)"),
    (r"fails when imported", r"^class ", "fails when imported: an ORM class built on stand-in bases"),
    (r"fails when imported", None, "fails when imported: a stand-in in a module-level expression"),
    (
        r"exceeds maximum length",
        None,
        "a stand-in's repr used as a table name (IdentifierError, name too long)",
    ),
    (r"could not find table", None, "a stand-in's repr used as a table name (NoReferencedTableError)"),
    (r"MetaData.__init__.*bind", None, "SQLAlchemy 1.x only: MetaData(bind=...) (fails on 2.x online too)"),
    (r"load_only|loader strategy", None, "ORM query options on an offline session (ArgumentError)"),
    (
        r"No literal value renderer",
        None,
        "SQL that cannot render with literal binds (CompileError, as `--sql`)",
    ),
    (r"not subscriptable|AssertionError", None, "a query result used offline (execute() returns no rows)"),
    (r"requires an online", None, "the revision refuses offline mode itself (raises in is_offline_mode())"),
)


def reason_group(reason: str, code: str) -> str:
    """The kind of a reason, without what differs from file to file (line numbers, module names)."""
    for on_reason, on_code, group in _GROUPS:
        if re.search(on_reason, reason) and (on_code is None or re.search(on_code, code)):
            return group
    text = re.sub(r"\(line \d+\)|at line \d+", "", reason)
    return re.sub(r"\s+", " ", re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", text)).strip()[:150]


def report(outcomes: list[Outcome], goal: float, show_reasons: bool) -> int:
    width = max(len(o.requirement) for o in outcomes)
    print(
        f"{'package':<{width}}  {'version':<10} {'revs':>5} {'offline':>7} {'AST-only':>8} {'full %':>6} "
        f"{'secs':>6}  findings (top codes)"
    )
    for o in outcomes:
        if o.crash:
            print(f"{o.requirement:<{width}}  {o.version:<10} CRASH {o.crash}")
            continue
        top = ", ".join(f"{code} {n}" for code, n in o.codes.most_common(6))
        print(
            f"{o.requirement:<{width}}  {o.version:<10} {o.revisions:>5} {o.offline:>7} {o.ast_only:>8} "
            f"{o.percent:>6.1f} {o.seconds:>6.1f}  {top}"
        )
    total = sum(o.revisions for o in outcomes)
    offline = sum(o.offline for o in outcomes)
    percent = 100.0 * offline / total if total else 0.0
    crashes = [o for o in outcomes if o.crash]
    print(
        f"overall: {total} revisions, {offline} fully analysed ({percent:.1f}%), {total - offline} AST-only; "
        f"{len(crashes)} crash(es); goal {goal:.0f}% fully analysed: {'met' if percent >= goal else 'MISSED'}"
    )
    all_codes: Counter[str] = Counter()
    for o in outcomes:
        all_codes.update(o.codes)
    print("findings per code, all histories: " + ", ".join(f"{c} {n}" for c, n in sorted(all_codes.items())))
    groups: Counter[str] = Counter()
    per_package: dict[str, Counter[str]] = {}
    example: dict[str, str] = {}
    for o in outcomes:
        for unread in o.unread:
            groups[unread.group] += 1
            per_package.setdefault(unread.group, Counter())[o.requirement] += 1
            example.setdefault(unread.group, f"{o.requirement} {unread.name}: {unread.code[:90]}")
    if groups:
        print("why revisions were read from their AST only (EC902), grouped:")
        for group, n in groups.most_common():
            where = ", ".join(f"{p} {k}" for p, k in per_package[group].most_common())
            print(f"  {n:>4}  {group}  [{where}]")
            print(f"          e.g. {example[group]}")
    if show_reasons:
        for o in outcomes:
            for unread in o.unread:
                print(f"  {o.requirement}  {unread.name}: {unread.reason}")
                if unread.code:
                    print(f"      {unread.code[:120]}")
    noisy = [o for o in outcomes if o.stderr_lines]
    if noisy:
        print(
            "wrote to stderr (revision code, not lint): "
            + ", ".join(f"{o.requirement} {o.stderr_lines} line(s)" for o in noisy)
        )
    return 1 if crashes or percent < goal else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--package",
        action="append",
        metavar="REQ",
        help=f"a requirement to download and lint (repeatable); default: {', '.join(DEFAULT_PACKAGES)}",
    )
    parser.add_argument(
        "--download-dir",
        type=Path,
        help="keep the wheels here and reuse them across runs (default: a temporary folder)",
    )
    parser.add_argument("--goal", type=float, default=90.0, help="percent fully analysed (default 90)")
    parser.add_argument("--reasons", action="store_true", help="list every AST-only revision with its reason")
    parser.add_argument("--keep", action="store_true", help="keep the extracted histories and print where")
    args = parser.parse_args()
    requirements = args.package or list(DEFAULT_PACKAGES)

    temp = Path(tempfile.mkdtemp(prefix="ec-real-histories-"))
    wheels = args.download_dir or temp / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    try:
        for requirement in requirements:
            name = requirement_name(requirement)
            outcome = Outcome(requirement)
            try:
                wheel = download(requirement, wheels)
            except RuntimeError as exc:
                sys.stderr.write(f"{exc}\n")
                raise SystemExit(2) from exc
            outcome.version = str(parse_wheel_filename(wheel.name)[1])
            tree = temp / "src" / f"{name}-{outcome.version}"
            script_dir, versions = extract(wheel, name, tree)
            outcome.script_dir = str(script_dir.relative_to(tree))
            work = temp / "work" / name
            work.mkdir(parents=True)
            lint(script_dir, versions, work, outcome)
            outcomes.append(outcome)
            print(
                f"  {requirement} {outcome.version}: {outcome.script_dir}: "
                + (
                    f"CRASH ({outcome.crash.splitlines()[0]})"
                    if outcome.crash
                    else f"{outcome.seconds:.1f} s"
                ),
                file=sys.stderr,
            )
        status = report(outcomes, args.goal, args.reasons)
    finally:
        if args.keep:
            print(f"kept in {temp}", file=sys.stderr)
        else:
            shutil.rmtree(temp, ignore_errors=True)
    raise SystemExit(status)


if __name__ == "__main__":
    main()
