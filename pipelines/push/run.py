"""Run one push: read, validate, then send batch by batch, recording each batch before the next."""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt

from sources.woodpecker import settings
from sources.woodpecker.api_key import clean_api_key
from sources.woodpecker.client import WoodpeckerClient
from sources.woodpecker.errors import ConfigurationError
from sources.woodpecker.progress import RunStats
from sources.woodpecker.prospect_writes import PushTarget, request_body, send_batch

from .. import defaults
from ..dlt_pipeline import make_pipeline
from ..error_messages import MISSING_KEY
from ..exit_codes import CliError, ExitCode
from ..load_options import LoadOptions
from ..lock import pipeline_lock
from ..report import sql_dataset
from .inputs import InputRows, read_destination, read_file
from .options import PUSH_PIPELINE_NAME, PushOptions
from .results import (
    INVALID,
    INVALID_BATCH,
    ResultRow,
    completed_batches,
    count_line,
    finish_pending,
    outcome_counts,
    record,
)
from .target import check, describe_target, push_target
from .validate import REASONS_SHOWN, Prospect, Rejected, Validation, map_columns, validate

PUSH_ID_LENGTH = 16
FORCE_WARNING = (
    "warning: --force enrols prospects whose global status is not ACTIVE: people who replied, bounced or "
    "opted out elsewhere may be contacted again."
)


def push_pipeline(options: PushOptions) -> dlt.Pipeline:
    """The push's own dlt pipeline, writing into the load's destination and dataset."""
    return make_pipeline(
        LoadOptions(
            destination=options.destination,
            duckdb_path=options.duckdb_path,
            dataset=options.dataset,
            pipeline_name=PUSH_PIPELINE_NAME,
            pipelines_dir=options.pipelines_dir,
        )
    )


def push_id(target: PushTarget, batch_size: int, checked: Validation) -> str:
    """Same input content + same target + same batch size → same id (row order does not matter)."""
    content = {
        "path": target.path,
        "campaign_id": target.campaign_id,
        "send_after": target.send_after,
        "update": target.update,
        "force": target.force,
        "file_name": target.file_name,
        "batch_size": batch_size,
        "valid": [sorted(p.fields.items()) for p in checked.valid],
        "invalid": sorted([r.email, list(r.reasons)] for r in checked.invalid),
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return digest[:PUSH_ID_LENGTH]


def push_key(options: PushOptions) -> str:
    """The API key from `--api-key` or the configuration, stripped and checked (never echoed).

    Raises:
        CliError: no key, or one that cannot be a key (exit code 2).
    """
    key = options.api_key or dlt.secrets.get("sources.woodpecker.api_key")
    if not key:
        raise CliError(MISSING_KEY, ExitCode.CONFIGURATION)
    try:
        return clean_api_key(key)
    except ConfigurationError as exc:
        raise CliError(str(exc), ExitCode.CONFIGURATION) from None


def make_client(options: PushOptions, stats: RunStats) -> WoodpeckerClient:
    """The source's HTTP client, configured like the source (`[sources.woodpecker]` settings)."""
    key = push_key(options)

    def setting(name: str, default: Any) -> Any:
        value: Any = dlt.config.get(f"sources.woodpecker.{name}")
        return type(default)(value) if value is not None else default

    return WoodpeckerClient(
        str(key),
        options.base_url or setting("base_url", settings.DEFAULT_BASE_URL),
        stats,
        request_timeout=setting("request_timeout", settings.DEFAULT_REQUEST_TIMEOUT_S),
        max_attempts=setting("max_attempts", settings.DEFAULT_MAX_ATTEMPTS),
        backoff_factor=setting("backoff_factor", settings.DEFAULT_BACKOFF_FACTOR),
    )


def _batches(prospects: Sequence[Prospect], size: int) -> list[list[Prospect]]:
    return [list(prospects[i : i + size]) for i in range(0, len(prospects), size)]


def _print_invalid(invalid: Sequence[Rejected], unknown: Sequence[str]) -> None:
    if unknown:
        print(f"Unknown columns (rows with a value in them are not sent): {', '.join(unknown)}")
    for rejected in invalid[:REASONS_SHOWN]:
        email = f" ({rejected.email})" if rejected.email else ""
        print(f"  row {rejected.row_number}{email}: {'; '.join(rejected.reasons)}")
    if len(invalid) > REASONS_SHOWN:
        print(f"  … and {len(invalid) - REASONS_SHOWN:,} more (all listed in push_results)")


def _invalid_rows(pid: str, target: PushTarget, invalid: Sequence[Rejected]) -> list[ResultRow]:
    now = datetime.now(UTC)
    return [
        ResultRow(pid, INVALID_BATCH, now, target.label, r.row_number, r.email or None, None, INVALID, None,
                  "; ".join(r.reasons))
        for r in invalid
    ]  # fmt: skip


def read_input(options: PushOptions, pipeline: dlt.Pipeline) -> InputRows:
    """The rows named by --file, --table or --query."""
    if options.file:
        return read_file(options.file)
    return read_destination(pipeline, table=options.table, query=options.query)


def check_email_column(data: InputRows, campaign: bool) -> None:
    """An input without an email column is refused as a whole, not row by row.

    Raises:
        CliError: `ExitCode.CONFIGURATION`, listing the columns found.
    """
    mapping, _ = map_columns(data.columns, campaign)
    if "email" not in mapping.values():
        found = ", ".join(repr(c) for c in data.columns[:20]) or "no columns"
        more = f" and {len(data.columns) - 20} more" if len(data.columns) > 20 else ""
        raise CliError(
            f"{data.label} has no email column (found: {found}{more}); name the column that holds the "
            "addresses email (case and blanks do not matter, e.g. Email or E-mail).",
            ExitCode.CONFIGURATION,
        )


def nothing_valid(data: InputRows, dry_run: bool) -> CliError:
    """The error of a push in which no row can be sent (exit code 2: the input is what needs fixing)."""
    if not data.rows:
        return CliError(f"Nothing to push: {data.label} has no rows.", ExitCode.CONFIGURATION)
    listed = "" if dry_run else "; every row and its reasons are in push_results"
    return CliError(
        f"Nothing to push: none of the {len(data.rows):,} rows of {data.label} is valid (reasons above"
        f"{listed}). Fix the rows and push again.",
        ExitCode.CONFIGURATION,
    )


def run_push(options: PushOptions) -> int:
    """`woodpecker-etl push`: returns the exit code; raises `CliError` or the underlying error."""
    check(options)
    if not options.dry_run:
        push_key(options)  # a missing or impossible key stops the push before anything is read or written
    target = push_target(options)
    pipeline = push_pipeline(options)
    data = read_input(options, pipeline)
    check_email_column(data, options.campaign)
    checked = validate(data.columns, data.rows, campaign=options.campaign, force=options.force)
    pid = push_id(target, options.batch_size, checked)
    if target.file_name is None:
        target = replace(target, file_name=f"woodpecker-etl push {pid}")
    batches = _batches(checked.valid, options.batch_size)
    print(f"Push {pid} → {describe_target(target)}")
    print(
        f"Read {len(data.rows):,} rows from {data.label}: {len(checked.valid):,} valid, "
        f"{len(checked.invalid):,} invalid (not sent)."
    )
    _print_invalid(checked.invalid, checked.unknown_columns)
    if options.force:
        print(FORCE_WARNING, file=sys.stderr)
    if options.dry_run:
        code = _dry_run(options, pipeline, pid, target, batches)
    else:
        with pipeline_lock(options.pipelines_dir, PUSH_PIPELINE_NAME):
            code = _send(options, pipeline, pid, target, batches, checked.invalid)
    if not checked.valid:
        raise nothing_valid(data, options.dry_run)
    return code


def _dry_run(
    options: PushOptions, pipeline: dlt.Pipeline, pid: str, target: PushTarget, batches: list[list[Prospect]]
) -> int:
    exists = options.destination != "duckdb" or Path(options.duckdb_path).exists()
    done = completed_batches(pipeline, pid) if exists else set()
    pending = [n for n in range(1, len(batches) + 1) if n not in done]
    sizes = ", ".join(f"{len(b):,}" for b in batches) or "none"
    print(f"Dry run: nothing sent. Would send {len(pending):,} of {len(batches):,} batches (sizes {sizes}).")
    if done - {INVALID_BATCH}:
        sent = ", ".join(str(n) for n in sorted(done - {INVALID_BATCH}))
        print(f"Already sent in an earlier run (skipped): batches {sent}")
    if batches:
        sample = request_body(target, [p.fields for p in batches[0][:2]])
        shown = f"{len(sample['prospects'])} of {len(batches[0]):,} prospects shown"
        print(f"First request: POST {target.path} ({shown}):")
        print(json.dumps(sample, indent=2, ensure_ascii=False))
    return int(ExitCode.OK)


def _send(
    options: PushOptions,
    pipeline: dlt.Pipeline,
    pid: str,
    target: PushTarget,
    batches: list[list[Prospect]],
    invalid: Sequence[Rejected],
) -> int:
    file_format = defaults.LOADER_FILE_FORMATS.get(options.destination)
    finish_pending(pipeline)
    done = completed_batches(pipeline, pid)
    if invalid and INVALID_BATCH not in done:
        record(pipeline, _invalid_rows(pid, target, invalid), file_format)
    pending = [(number, batch) for number, batch in enumerate(batches, start=1) if number not in done]
    skipped = len(batches) - len(pending)
    stats = RunStats()
    if pending:  # the key is only needed when something is left to send
        client = make_client(options, stats)
        for number, batch in pending:
            outcomes = send_batch(client, target, [p.fields for p in batch])
            now = datetime.now(UTC)
            rows = [
                ResultRow(pid, number, now, target.label, p.row_number, o.email, o.prospect_id, o.outcome,
                          o.code, o.message)
                for p, o in zip(batch, outcomes, strict=True)
            ]  # fmt: skip
            record(pipeline, rows, file_format)  # before the next batch is sent: this is the resume point
            counts = Counter(o.outcome for o in outcomes).most_common()
            print(f"  batch {number}/{len(batches)}: {len(batch):,} sent: {count_line(counts)}", flush=True)
    if skipped:
        print(f"Resumed: {skipped:,} batch(es) already sent by an earlier run were skipped.")
    totals = outcome_counts(pipeline, pid)
    print(
        f"Done: {len(batches) - skipped:,} batch(es) sent, {stats.total_requests:,} requests "
        f"({stats.retries:,} retries). Outcomes: {count_line(totals.items())}."
    )
    print(f"Details: SELECT * FROM {sql_dataset(options.dataset)}.push_results WHERE push_id = '{pid}'")
    return int(ExitCode.OK)
