"""Read the rows to push: a table or query of the destination, or a CSV / Parquet file."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt

from ..exit_codes import CliError, ExitCode

TABLE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Delimiters of the CSV files people export: comma, semicolon (spreadsheets in locales with a decimal
# comma), tab and pipe.
CSV_DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class InputRows:
    """Rows read from one input.

    Attributes:
        label: Where they came from, for messages (`table leads`, `file leads.csv`, `query`).
        columns: Column names in input order.
        rows: One mapping per row.
    """

    label: str
    columns: list[str]
    rows: list[dict[str, Any]]


def read_destination(pipeline: dlt.Pipeline, *, table: str | None, query: str | None) -> InputRows:
    """Run `SELECT * FROM <table>` (in the pipeline's dataset) or the user's query on the destination.

    Raises:
        CliError: For a table name that is not a plain identifier.
    """
    with pipeline.sql_client() as client:
        if table is not None:
            if not TABLE_NAME_RE.match(table):
                raise CliError(
                    f"--table takes a table name of the dataset ({table!r} is not one); use --query for "
                    "anything else.",
                    ExitCode.CONFIGURATION,
                )
            sql, label = f"SELECT * FROM {client.make_qualified_table_name(table)}", f"table {table}"
        else:
            sql, label = str(query), "query"
        with client.execute_query(sql) as cursor:
            columns = [str(d[0]) for d in cursor.description or ()]
            rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    return InputRows(label, columns, rows)


def csv_delimiter(sample: str) -> str:
    """The delimiter of a CSV file from its first lines: `,`, `;`, tab or `|` (`,` when there is one column).

    `csv.Sniffer` decides from how consistently each candidate splits the lines; when it cannot (one
    column, a single line), the candidate found most often in the header wins.
    """
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in CSV_DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def read_file(path: str) -> InputRows:
    """Read a CSV (every cell as text; empty cells are empty) or Parquet file.

    CSV files may be UTF-8 with or without a byte-order mark (spreadsheet exports add one) and use any
    delimiter of `CSV_DELIMITERS`.

    Raises:
        CliError: When the file is missing, not UTF-8, or its extension is neither .csv nor .parquet.
    """
    file = Path(path)
    if not file.is_file():
        raise CliError(f"No such file: {path}", ExitCode.CONFIGURATION)
    suffix = file.suffix.lower()
    if suffix == ".csv":
        import pandas as pd

        try:
            with file.open(encoding="utf-8-sig", newline="") as handle:
                delimiter = csv_delimiter(handle.read(SNIFF_BYTES))
            frame = pd.read_csv(
                file,
                dtype=str,
                keep_default_na=False,
                sep=delimiter,
                encoding="utf-8-sig",
                skipinitialspace=True,
            )
        except UnicodeDecodeError:
            raise CliError(
                f'{file.name} is not UTF-8 text; save it as "CSV UTF-8" (or convert it, e.g. '
                f"iconv -f cp1252 -t utf-8 {file.name}) and push again.",
                ExitCode.CONFIGURATION,
            ) from None
        except pd.errors.EmptyDataError:
            raise CliError(
                f"{file.name} is empty: no header line, no rows.", ExitCode.CONFIGURATION
            ) from None
        except pd.errors.ParserError as exc:
            reason = str(exc).strip().splitlines()[0]
            raise CliError(
                f"{file.name} is not a readable CSV file: {reason}", ExitCode.CONFIGURATION
            ) from None
        columns = [str(c) for c in frame.columns]
        rows = [dict(zip(columns, values, strict=True)) for values in frame.itertuples(index=False)]
        return InputRows(f"file {file.name}", columns, rows)
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(file)
        return InputRows(f"file {file.name}", list(table.column_names), table.to_pylist())
    raise CliError(f"--file reads .csv or .parquet files, not {file.name}", ExitCode.CONFIGURATION)
