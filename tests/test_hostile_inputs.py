"""The pipeline end to end on a corpus of hostile exports (``tests/hostile_corpus.py``), twice.

One module-scoped run of every stage (``feedback_ops.pipeline``, local backend, embedded index, alerts to the
JSONL log and to loopback Slack / Teams / webhook receivers) over the corpus, then a second run on the same
landing folder. Each kind of hostile input is its own test (``test_kind[<kind>]``), so a failure names the
kind; the tests after it check what holds for the whole run: every stage finishes, every source record is
accounted for, no planted PII in anything derived from redacted text, nothing reaches Slack as a mention or a
foreign link, and the second run changes nothing.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import local_settings
from hostile_corpus import (
    ALERT_ROUTING,
    DUPLICATE,
    EVIL_HOST,
    FUTURE_YEAR,
    KEPT,
    MAX_UNITS_PER_MESSAGE,
    NOT_LOADED,
    PARKED,
    PLANTED_PII,
    QUARANTINED,
    ExpectedRecord,
    HostileCase,
    StageRun,
    build_corpus,
    destination_connections,
    normalised,
    run_pipeline,
)
from webhook_receiver import WebhookReceiver

LOST = "lost"
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
BROADCAST_MENTIONS = ("<!channel", "<!here", "<!everyone", "<@U024BE7LH>", "<#C024BE7LR>")
RUN_LOG_TABLES = {"enrichment.enrichment_runs"}
"""Tables that log every run by design (one row per enrichment run, records 0 when nothing was new)."""


def connect(path: Path):
    """A connection to a DuckDB file, in the mode the pipeline's own connections use: dbt-duckdb keeps a
    read-write one open in this process, and DuckDB refuses a second connection with another configuration."""
    return duckdb.connect(str(path))


@dataclass
class HostileRun:
    """What the two pipeline runs over the corpus left behind."""

    root: Path
    settings: Any
    cases: list[HostileCase]
    first: list[StageRun]
    second: list[StageRun]
    counts: tuple[dict[str, int], dict[str, int]]
    alert_logs: tuple[str, str]
    received: tuple[int, int]
    requests: list[Any]
    environ_entries: list[str]
    derived: dict[str, str] = field(default_factory=dict)
    observed: dict[tuple[str, str], list[tuple[str, str | None]]] | None = None

    def query(self, sql: str, params: list | None = None) -> list[dict[str, Any]]:
        with connect(self.settings.warehouse_path) as con:
            cursor = con.execute(sql, params or [])
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def bodies(self, path: str) -> list[str]:
        """JSON of every request a receiver path got."""
        return [json.dumps(r.body, ensure_ascii=False) for r in self.requests if r.path == path]


def table_counts(settings) -> dict[str, int]:
    """Rows of every table of the warehouse and of every index file."""
    counts = {}
    with connect(settings.warehouse_path) as con:
        for schema, table in _tables(con):
            counts[f"{schema}.{table}"] = con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchone()[0]
    for path in sorted(settings.index_dir.glob("*.duckdb")):
        with connect(path) as con:
            for schema, table in _tables(con):
                counts[f"{path.name}:{schema}.{table}"] = con.execute(
                    f'select count(*) from "{schema}"."{table}"'
                ).fetchone()[0]
    return counts


def _tables(con) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' order by 1, 2"
    ).fetchall()


def _text_of(con, schema: str, table: str, skip: set[str]) -> str:
    columns = [
        name
        for name, data_type in con.execute(
            "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
        if data_type in ("VARCHAR", "JSON") or data_type.startswith("VARCHAR")
        if name not in skip
    ]
    if not columns:
        return ""
    quoted = ", ".join(f'"{c}"' for c in columns)
    parts = con.execute(
        f'select string_agg(concat_ws(\' \', {quoted}), chr(10)) from "{schema}"."{table}"'
    ).fetchone()[0]
    return parts or ""


RAW_COLUMNS = {"feedback_text"}
"""Gold's one column of raw customer text (kept for audit beside ``redacted_text``)."""


def derived_outputs(settings, requests: list[Any]) -> dict[str, str]:
    """Every output derived from redacted text, as text: enrichment, gold (but its raw text column), alerts,
    every index file's tables, the alert log, the reports, the run summary and what the receivers got."""
    outputs = {}
    with connect(settings.warehouse_path) as con:
        for schema, table in _tables(con):
            if schema in ("enrichment", "gold", "alerts"):
                outputs[f"{schema}.{table}"] = _text_of(con, schema, table, RAW_COLUMNS)
    for path in sorted(settings.index_dir.glob("*.duckdb")):
        with connect(path) as con:
            for schema, table in _tables(con):
                outputs[f"index {path.name}:{table}"] = _text_of(con, schema, table, set())
    for path in sorted(settings.reports_dir.rglob("*")):
        if path.is_file():
            outputs[f"report {path.name}"] = path.read_text(encoding="utf-8", errors="replace")
    for path in (settings.alert_log, settings.local_dir / "run_summary.txt"):
        outputs[path.name] = path.read_text(encoding="utf-8") if path.exists() else ""
    for number, request in enumerate(requests):
        outputs[f"sent {request.path} #{number}"] = json.dumps(request.body, ensure_ascii=False)
    return {name: normalised(text) for name, text in outputs.items()}


def read_environ() -> list[str]:
    """``KEY=VALUE`` entries of this process's initial environment with a value long enough to be specific."""
    try:
        raw = Path("/proc/self/environ").read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return []
    return [entry for entry in raw.split("\0") if len(entry.partition("=")[2]) >= 8]


def run_twice(root: Path, skip: tuple[str, ...] = ()) -> HostileRun:
    """Build the corpus under ``root`` (without the ``skip`` kinds) and run the pipeline over it twice, alerts
    delivered to loopback receivers."""
    cases = [c for c in build_corpus(root / "landing", root / "outside") if c.kind not in skip]
    for leftover in {*(root / "landing").iterdir()} - {
        root / "landing" / n for c in cases for n in [*c.files, *c.links]
    }:
        leftover.unlink()
    routing = root / "alert_routing.yaml"
    routing.write_bytes(ALERT_ROUTING)
    settings = local_settings(root, root / "landing", alert_routing_path=routing)
    settings.ensure_dirs()
    with pytest.MonkeyPatch.context() as patch, WebhookReceiver() as receiver:
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            patch.delenv(proxy, raising=False)
        for name, value in destination_connections(receiver.url).items():
            patch.setenv(name, value)
        first = run_pipeline(settings)
        counts_one = table_counts(settings)
        log_one = settings.alert_log.read_text() if settings.alert_log.exists() else ""
        received_one = len(receiver.requests)
        second = run_pipeline(settings)
        requests = list(receiver.requests)
    return HostileRun(
        root=root,
        settings=settings,
        cases=cases,
        first=first,
        second=second,
        counts=(counts_one, table_counts(settings)),
        alert_logs=(log_one, settings.alert_log.read_text() if settings.alert_log.exists() else ""),
        received=(received_one, len(requests)),
        requests=requests,
        environ_entries=read_environ(),
        derived=derived_outputs(settings, requests),
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> HostileRun:
    """The whole corpus, run twice."""
    return run_twice(tmp_path_factory.mktemp("hostile"))


# --- what became of each source record ------------------------------------------------------------------


def parked_files(run: HostileRun) -> dict[str, str]:
    """source_file -> reason, from whatever table of the warehouse records parked files (none: empty)."""
    tables = run.query(
        "select table_schema, table_name from information_schema.tables where table_name like '%parked%'"
    )
    parked: dict[str, str] = {}
    for table in tables:
        name = f'"{table["table_schema"]}"."{table["table_name"]}"'
        for row in run.query(f"select * from {name}"):
            reason = next((str(v) for k, v in row.items() if "reason" in k and v), "")
            released = any(k in ("released_at", "dropped_at") and v for k, v in row.items()) or str(
                row.get("status") or "parked"
            ).lower() not in ("parked", "open")
            if row.get("source_file") and not released:
                parked[str(row["source_file"])] = reason
    return parked


def observed_outcomes(run: HostileRun) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
    """(source_file, key) -> the outcomes observed for it, one per row found (a bronze row accounts for one
    record only: a malformed row holding several records' keys is counted for the first, the others are lost)."""
    if run.observed is None:
        run.observed = _observe(run)
    return run.observed


def _keys_by_file(run: HostileRun) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = defaultdict(list)
    for case in run.cases:
        for record in case.records:
            if record.key not in keys[record.source_file]:
                keys[record.source_file].append(record.key)
    return keys


def _observe(run: HostileRun) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
    parked = parked_files(run)
    loaded = {r["source_file"] for r in run.query("select source_file from bronze.file_manifest")}
    loaded |= {r["source_file"] for r in run.query("select distinct source_file from bronze.feedback_raw")}
    found: dict[tuple[str, str], list[tuple[str, str | None]]] = defaultdict(list)
    keys_by_file = _keys_by_file(run)
    for source_file, keys in keys_by_file.items():
        whole_file = (PARKED, parked[source_file]) if source_file in parked else None
        if whole_file is None and source_file not in loaded:
            whole_file = (NOT_LOADED, None)
        if whole_file is not None:
            for key in keys:
                found[(source_file, key)].append(whole_file)
    for status, rows in _silver_rows(run).items():
        for row in rows:
            source_file = row["source_file"]
            if source_file in parked or source_file not in keys_by_file:
                continue
            key = _row_key(row, keys_by_file[source_file])
            if key is not None:
                found[(source_file, key)].append((status, row.get("quarantine_reason")))
    return found


def _silver_rows(run: HostileRun) -> dict[str, list[dict[str, Any]]]:
    def rows(sql: str) -> list[dict[str, Any]]:
        try:
            return run.query(sql)
        except duckdb.CatalogException:
            return []

    return {
        KEPT: rows(
            "select source_file, source_record_id, feedback_text as payload from silver.int_feedback_deduplicated"
        ),
        DUPLICATE: rows(
            "select source_file, source_record_id, null as payload from silver.int_feedback_duplicates"
        ),
        QUARANTINED: rows(
            "select source_file, source_record_id, payload, quarantine_reason from silver.int_feedback_quarantined"
        ),
    }


def _row_key(row: dict[str, Any], keys: list[str]) -> str | None:
    if row["source_record_id"] is not None and str(row["source_record_id"]) in keys:
        return str(row["source_record_id"])
    payload = str(row.get("payload") or "")
    return next((key for key in keys if key in payload), None)


def outcome_problems(run: HostileRun, records: list[ExpectedRecord]) -> list[str]:
    """Each record whose observed outcome is not one it accepts, as a readable line."""
    observed = observed_outcomes(run)
    by_key: dict[tuple[str, str], list[ExpectedRecord]] = defaultdict(list)
    for record in records:
        by_key[(record.source_file, record.key)].append(record)
    problems = []
    for key, expected in by_key.items():
        available = list(observed.get(key, []))
        if len(available) > len(expected) and available[0][0] not in (PARKED, NOT_LOADED):
            problems.append(f"{key}: {len(available)} rows for {len(expected)} source records: {available}")
        for record in expected:
            match = next((o for o in available if any(a.accepts(*o) for a in record.accepted)), None)
            if match is None:
                got = available[0] if available else (LOST, None)
                problems.append(
                    f"{record.source_file} {record.key}: got {got[0]}"
                    f"{f' ({got[1]})' if got[1] else ''}, expected one of {[str(a) for a in record.accepted]}"
                )
                continue
            available.remove(match)
    return problems


# --- per-kind checks beyond the outcome --------------------------------------------------------------


def kept_text(run: HostileRun, key: str) -> str | None:
    rows = run.query(
        "select feedback_text from silver.int_feedback_deduplicated where source_record_id = ?", [key]
    )
    return rows[0]["feedback_text"] if rows else None


def feedback_id_of(run: HostileRun, key: str) -> str | None:
    rows = run.query(
        "select feedback_id from silver.int_feedback_deduplicated where source_record_id = ?", [key]
    )
    return rows[0]["feedback_id"] if rows else None


def check_text_contains(key: str, *fragments: str):
    def check(run: HostileRun) -> list[str]:
        text = kept_text(run, key)
        if text is None:
            return []  # its outcome is checked on its own
        return [f"{key}: silver text lacks {f!r}: {text[:200]!r}" for f in fragments if f not in text]

    return check


def check_text_lacks(key: str, pattern: str):
    def check(run: HostileRun) -> list[str]:
        text = kept_text(run, key)
        if text is None:
            return []
        found = re.search(pattern, text, re.IGNORECASE)
        return [f"{key}: silver text holds {found.group(0)!r}: {text[:200]!r}"] if found else []

    return check


def check_truncated_and_capped(key: str, must_truncate: bool = True):
    """A huge text: raw text kept whole in bronze, few analysis units and, when ``must_truncate`` (a text
    longer than any sensible cap), flagged ``text_truncated``."""

    def check(run: HostileRun) -> list[str]:
        feedback_id = feedback_id_of(run, key)
        if feedback_id is None:
            return []
        problems = []
        units = run.query(
            "select count(*) as n from enrichment.feedback_units where feedback_id = ?", [feedback_id]
        )
        if units[0]["n"] > MAX_UNITS_PER_MESSAGE:
            problems.append(f"{key}: {units[0]['n']} analysis units (cap {MAX_UNITS_PER_MESSAGE})")
        flags = truncation_flags(run, feedback_id)
        if must_truncate and not any(flags.values()):
            problems.append(
                f"{key}: not flagged text_truncated anywhere ({flags or 'no text_truncated column'})"
            )
        raw = run.query(
            "select max(length(payload)) as n from bronze.feedback_raw where payload like ?", [f"%{key}%"]
        )
        if (raw[0]["n"] or 0) < 100_000:
            problems.append(f"{key}: bronze does not keep the raw text whole ({raw[0]['n']} characters)")
        return problems

    return check


def truncation_flags(run: HostileRun, feedback_id: str) -> dict[str, bool]:
    """``text_truncated`` of the record: the ``enrichment_notes`` flag of its enrichment, and the column of every
    table that has one."""
    notes = run.query(
        "select enrichment_notes from enrichment.feedback_enrichment where feedback_id = ?", [feedback_id]
    )
    flags = {
        "enrichment.feedback_enrichment.enrichment_notes": any(
            "text_truncated" in (row["enrichment_notes"] or "") for row in notes
        )
    }
    tables = run.query(
        "select table_schema, table_name from information_schema.columns where column_name = 'text_truncated'"
    )
    for table in tables:
        name = f"{table['table_schema']}.{table['table_name']}"
        try:
            rows = run.query(f"select text_truncated from {name} where feedback_id = ?", [feedback_id])
        except duckdb.BinderException:
            continue
        flags[name] = any(bool(r["text_truncated"]) for r in rows)
    return flags


def check_marker_never_loaded(marker: str):
    def check(run: HostileRun) -> list[str]:
        rows = run.query(
            "select count(*) as n from bronze.feedback_raw where payload like ?", [f"%{marker}%"]
        )
        leaks = [name for name, text in run.derived.items() if marker in text]
        return ([f"{marker} is in bronze ({rows[0]['n']} rows)"] if rows[0]["n"] else []) + [
            f"{marker} is in {name}" for name in leaks
        ]

    return check


def check_environ_never_loaded(run: HostileRun) -> list[str]:
    payloads = "\n".join(r["payload"] or "" for r in run.query("select payload from bronze.feedback_raw"))
    leaked = [entry.partition("=")[0] for entry in run.environ_entries if entry in payloads]
    derived = [name for name, text in run.derived.items() for e in run.environ_entries if e in text]
    return [f"environment variables in bronze: {leaked}"] * bool(leaked) + [
        f"environment entries in {sorted(set(derived))}"
    ] * bool(derived)


def check_future_never_becomes_now(run: HostileRun) -> list[str]:
    problems = [
        f"report named for {FUTURE_YEAR}: {p.name}"
        for p in run.settings.reports_dir.rglob(f"*{FUTURE_YEAR}*")
    ]
    try:
        latest = run.query("select max(created_at) as t from gold.fct_feedback")[0]["t"]
    except duckdb.CatalogException:
        latest = None
    if latest is not None and latest.year >= int(FUTURE_YEAR):
        problems.append(f"gold's latest created_at is {latest}")
    if f'"as_of": "{FUTURE_YEAR}' in run.alert_logs[1] or f"{FUTURE_YEAR}-01-01" in run.derived.get(
        "run_summary.txt", ""
    ):
        problems.append(f"alerts or the summary run as of {FUTURE_YEAR}")
    return problems


def check_no_control_characters(key: str):
    def check(run: HostileRun) -> list[str]:
        problems = []
        text = kept_text(run, key)
        if text is not None and CONTROL_CHARACTERS.search(text):
            problems.append(f"{key}: silver text holds control characters: {text[:120]!r}")
        feedback_id = feedback_id_of(run, key)
        rows = run.query(
            "select redacted_text from enrichment.feedback_enrichment where feedback_id = ?", [feedback_id]
        )
        if any(CONTROL_CHARACTERS.search(r["redacted_text"] or "") for r in rows):
            problems.append(f"{key}: redacted text holds control characters")
        return problems

    return check


def check_one_kept(key: str):
    def check(run: HostileRun) -> list[str]:
        rows = run.query(
            "select count(*) as n from silver.int_feedback_deduplicated where source_record_id = ?", [key]
        )
        return [] if rows[0]["n"] == 1 else [f"{key} kept {rows[0]['n']} times (expected once)"]

    return check


def check_pii_never_derived(kind: str):
    pii = next(p for p in PLANTED_PII if p.kind == kind)
    pattern = re.compile(pii.pattern, re.IGNORECASE)

    def check(run: HostileRun) -> list[str]:
        raw = kept_text(run, f"HX-{kind}-01")
        if raw is not None and not pattern.search(normalised(raw)):
            return [f"{kind}: the planted value is not in silver's text, so the check would prove nothing"]
        return [
            f"{kind}: {pii.written!r} appears in {name}"
            for name, text in run.derived.items()
            if pattern.search(text)
        ]

    return check


def check_nothing_broadcast_or_linked(run: HostileRun) -> list[str]:
    """No Slack mention and no link to the planted host in any message sent to Slack, Teams or the webhook."""
    problems = []
    slack = run.bodies("/slack")
    teams = run.bodies("/teams")
    if not incident_examples(run):
        problems.append("no theme alert shows an incident item as its example: the check would prove nothing")
    if not slack or not teams:
        problems.append(
            f"the incident reached Slack {len(slack)} times and Teams {len(teams)} times (expected >= 1)"
        )
    for body in slack:
        problems += [f"Slack message holds {m!r}" for m in BROADCAST_MENTIONS if m in body]
        problems += [
            f"Slack link to {link}" for link in re.findall(r"<(https?://[^|>]*)", body) if EVIL_HOST in link
        ]
    for body in teams:
        problems += [f"Teams card links {u}" for u in re.findall(r'"url": "([^"]*)"', body) if EVIL_HOST in u]
        problems += [
            f"Teams Markdown link {m}" for m in re.findall(r"\]\((https?://[^)]*)\)", body) if EVIL_HOST in m
        ]
    return sorted(set(problems))


def incident_examples(run: HostileRun) -> list[str]:
    """The source_record_ids of the examples of the theme alerts in the log that are incident items (each
    carries a Slack injection in its text and a hostile url)."""
    examples = []
    for line in run.alert_logs[1].splitlines():
        alert = json.loads(line)
        if alert.get("kind") == "theme_spike":
            examples += [str(e.get("source_record_id")) for e in alert.get("examples", [])]
    incident = ("HX-slack_injection_", "HX-pii_")
    return [e for e in examples if e.startswith(incident)]


def check_physical_records(case: HostileCase):
    """Each loaded, unparked file of the case has one bronze row per source record it holds."""

    def check(run: HostileRun) -> list[str]:
        parked = parked_files(run)
        problems = []
        for name, expected in case.physical_records.items():
            rows = run.query("select count(*) as n from bronze.feedback_raw where source_file = ?", [name])[
                0
            ]["n"]
            if rows and name not in parked and rows != expected:
                problems.append(f"{name}: {rows} bronze rows for {expected} source records")
        return problems

    return check


def check_parked_file_alerted(name: str):
    """A parked file is told to the operators: a pipeline-health alert in the log names it."""

    def check(run: HostileRun) -> list[str]:
        if name not in parked_files(run):
            return []
        for line in run.alert_logs[1].splitlines():
            alert = json.loads(line)
            if alert.get("kind") == "pipeline_health" and name in line:
                return []
        return [f"{name} is parked but no pipeline-health alert names it"]

    return check


CHECKS = {
    "csv_cell_over_131072": [check_truncated_and_capped("HX-csv_cell_over_131072-02", must_truncate=False)],
    "csv_stray_quote": [check_text_contains("HX-csv_stray_quote-03", "Row 3 of the export is fine")],
    **{
        f"jsonl_{name}": [
            check_text_contains(f"HX-jsonl_{name}-02", "Before the separator", "after the separator"),
            check_no_control_characters(f"HX-jsonl_{name}-02"),
        ]
        for name in ("u2028", "u2029", "u0085", "vt", "ff", "fs", "gs", "rs")
    },
    "csv_semicolon": [check_parked_file_alerted("csv_semicolon.csv")],
    "csv_no_text_column": [check_parked_file_alerted("csv_no_text_column.csv")],
    "gzip_named_jsonl": [check_text_contains("HX-gzip_named_jsonl-01", "Compressed export record 1")],
    "latin1_csv": [
        check_text_contains("HX-latin1_csv-01", "Café au lait", "crème brûlée"),
        check_text_lacks("HX-latin1_csv-02", "\ufffd"),
    ],
    "utf16_bom_csv": [check_text_contains("HX-utf16_bom_csv-01", "ünïcödé")],
    "crlf_line_endings": [check_text_lacks(f"HX-crlf_line_endings-0{n}", "\r") for n in (1, 3)],
    "csv_quoted_newlines": [check_text_contains("HX-csv_quoted_newlines-01", "second line", "third line")],
    "future_created_at": [check_future_never_becomes_now],
    "symlink_outside": [check_marker_never_loaded("HXMARK-outside")],
    "symlink_dir_outside": [check_marker_never_loaded("HXMARK-dir")],
    "symlink_proc_environ": [check_environ_never_loaded],
    "html_entity_script": [check_text_lacks("HX-html_entity_script-01", r"<\s*/?\s*script")],
    "text_1mb": [check_truncated_and_capped("HX-text_1mb-01")],
    "token_100k": [check_truncated_and_capped("HX-token_100k-01", must_truncate=False)],
    "terminal_escapes": [check_no_control_characters("HX-terminal_escapes-01")],
    "emoji_rtl_combining": [
        check_text_contains(
            "HX-emoji_rtl_combining-01",
            "\U0001f469\u200d\U0001f469\u200d\U0001f467",
            "\u05e9\u05dc\u05d5\u05dd",
            "café",
        )
    ],
    "nul_bytes": [
        check_no_control_characters("HX-nul_bytes-01"),
        check_no_control_characters("HX-nul_bytes-02"),
    ],
    "sql_injection_text": [check_text_contains("HX-sql_injection_text-01", "DROP TABLE bronze.feedback_raw")],
    "duplicate_within_file": [check_one_kept("HX-duplicate_within_file-01")],
    "duplicate_across_files": [check_one_kept("HX-duplicate_across_files-01")],
    "same_file_two_names": [check_one_kept("HX-same_file_two_names-01")],
    "slack_injection_text": [check_nothing_broadcast_or_linked],
    "slack_injection_url": [check_nothing_broadcast_or_linked],
    **{pii.kind: [check_pii_never_derived(pii.kind)] for pii in PLANTED_PII},
}


def _kinds() -> list[str]:
    from hostile_corpus import hostile_cases

    return [case.kind for case in hostile_cases(Path("outside"))]


@pytest.mark.parametrize("kind", _kinds())
def test_kind(hostile: HostileRun, kind: str):
    case = next(c for c in hostile.cases if c.kind == kind)
    problems = outcome_problems(hostile, case.records)
    for check in [check_physical_records(case), *CHECKS.get(kind, [])]:
        problems += check(hostile)
    assert not problems, f"{kind} ({case.description}):\n" + "\n".join(problems)


# --- the whole run -----------------------------------------------------------------------------------------


def test_the_corpus_has_at_least_40_kinds(hostile: HostileRun):
    assert len(hostile.cases) >= 40
    assert sum(len(c.records) for c in hostile.cases) > 100


def test_every_stage_finishes_on_the_first_run(hostile: HostileRun):
    failed = {s.name: s.error for s in hostile.first if s.error}
    assert not failed, "\n\n".join(f"[{name}] {error}" for name, error in failed.items())


def test_every_stage_finishes_on_the_second_run(hostile: HostileRun):
    failed = {s.name: s.error for s in hostile.second if s.error}
    assert not failed, "\n\n".join(f"[{name}] {error}" for name, error in failed.items())


def test_every_source_record_is_accounted_for(hostile: HostileRun):
    """Kept, quarantined with a reason, duplicate, parked, or never loaded where that is its expected outcome
    (links out of the landing folder, a re-delivered file): no record is lost."""
    records = [r for case in hostile.cases for r in case.records]
    observed = observed_outcomes(hostile)
    lost = []
    for key in dict.fromkeys((r.source_file, r.key) for r in records):
        expected = [r for r in records if (r.source_file, r.key) == key]
        may_skip = all(any(a.status == NOT_LOADED for a in r.accepted) for r in expected)
        found = [o for o in observed.get(key, []) if o[0] != NOT_LOADED or may_skip]
        lost += [key] * (len(expected) - len(found))
    assert not lost, f"{len(lost)} of {len(records)} source records are nowhere: {lost}"


def test_bronze_reconciles_with_silver_and_every_file_with_its_records(hostile: HostileRun):
    """bronze = kept + quarantined + duplicates, and each loaded, unparked file has one bronze row per source
    record it holds (no record split in two, none swallowed by another)."""
    counts = hostile.query(
        "select (select count(*) from bronze.feedback_raw) as bronze, "
        "(select count(*) from silver.int_feedback_deduplicated) as kept, "
        "(select count(*) from silver.int_feedback_quarantined) as quarantined, "
        "(select count(*) from silver.int_feedback_duplicates) as duplicates"
    )[0]
    parked = parked_files(hostile)
    rows = {
        r["source_file"]: r["n"]
        for r in hostile.query("select source_file, count(*) as n from bronze.feedback_raw group by 1")
    }
    mismatched = {
        name: (rows.get(name, 0), expected)
        for case in hostile.cases
        for name, expected in case.physical_records.items()
        if name in rows and name not in parked and rows[name] != expected
    }
    assert counts["bronze"] > 0, "nothing reached bronze"
    in_parked_only = sum(n for name, n in rows.items() if name in parked)
    silver_total = counts["kept"] + counts["quarantined"] + counts["duplicates"]
    assert counts["bronze"] in (silver_total, silver_total + in_parked_only), counts
    assert not mismatched, f"bronze rows vs source records per file: {mismatched}"


def test_every_kept_record_is_enriched_or_quarantined_with_its_reason(hostile: HostileRun):
    missing = hostile.query(
        "select k.source_record_id from silver.int_feedback_deduplicated k "
        "where not exists (select 1 from enrichment.feedback_enrichment e where e.feedback_id = k.feedback_id) "
        "and not exists (select 1 from enrichment.enrichment_quarantine q where q.feedback_id = k.feedback_id "
        "and q.reason is not null)"
    )
    assert not missing, (
        f"kept but neither enriched nor quarantined: {[r['source_record_id'] for r in missing]}"
    )


def test_enrichment_labels_stay_in_their_contract(hostile: HostileRun):
    """Prompt injection or not, every label is one the contract allows."""
    rows = hostile.query(
        "select feedback_id, sentiment_label, urgency, sentiment_score from enrichment.feedback_enrichment "
        "where sentiment_label not in ('negative', 'neutral', 'positive') "
        "or urgency not in ('low', 'medium', 'high', 'critical') or sentiment_score not between -1 and 1"
    )
    assert not rows, rows


def test_no_control_characters_in_silver_text(hostile: HostileRun):
    rows = hostile.query("select source_record_id, feedback_text from silver.int_feedback_deduplicated")
    bad = [r["source_record_id"] for r in rows if CONTROL_CHARACTERS.search(r["feedback_text"] or "")]
    assert not bad, f"silver text with C0/C1 control characters: {bad}"


def test_every_indexed_unit_is_a_current_unit(hostile: HostileRun):
    units = hostile.counts[0].get("enrichment.feedback_units", 0)
    documents = [n for name, n in hostile.counts[0].items() if name.endswith(":main.documents")]
    assert units > 0 and documents and max(documents) == units, (units, documents)


def test_no_planted_pii_in_anything_derived_from_redacted_text(hostile: HostileRun):
    planted = [p.kind for p in PLANTED_PII if kept_text(hostile, f"HX-{p.kind}-01") is not None]
    assert planted == [p.kind for p in PLANTED_PII], (
        f"only {planted} reached silver: the check would prove less"
    )
    leaks = {
        pii.kind: sorted(
            name for name, text in hostile.derived.items() if re.search(pii.pattern, text, re.IGNORECASE)
        )
        for pii in PLANTED_PII
    }
    assert not any(leaks.values()), {k: v for k, v in leaks.items() if v}


def test_a_second_run_changes_no_table(hostile: HostileRun):
    before, after = hostile.counts
    assert before.get("silver.int_feedback_deduplicated"), "the first run kept nothing"
    changed = {
        name: (before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if name not in RUN_LOG_TABLES and before.get(name) != after.get(name)
    }
    assert not changed, changed
    runs = hostile.query("select records from enrichment.enrichment_runs order by started_at")
    assert runs and runs[-1]["records"] == 0, runs


def test_a_second_run_sends_no_alert(hostile: HostileRun):
    assert hostile.alert_logs[0] == hostile.alert_logs[1]
    assert hostile.received[0] == hostile.received[1], hostile.requests[hostile.received[0] :]


def test_quarantine_reasons_are_named(hostile: HostileRun):
    reasons = Counter(
        r["quarantine_reason"].split(":")[0]
        for r in hostile.query("select quarantine_reason from silver.int_feedback_quarantined")
    )
    assert reasons and all(reasons), reasons
