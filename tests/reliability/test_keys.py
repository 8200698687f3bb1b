"""The API key (and a wrong one) appear in no output, file or table, even at DEBUG and on failures."""

from __future__ import annotations

from pathlib import Path

from .common import Size
from .keyscan import EXPECTED_CODES, scan_runs_and_files


def test_no_key_anywhere_after_debug_runs_and_failures(size: Size, tmp_path: Path) -> None:
    scan = scan_runs_and_files(21, size, tmp_path)
    assert scan.codes == EXPECTED_CODES
    assert scan.debug_lines > 100  # DEBUG logging really was on: every request is logged
    assert scan.files_scanned > 20 and scan.columns_scanned > 100
    assert scan.hits == []
