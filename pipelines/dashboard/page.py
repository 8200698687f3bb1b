"""One self-contained HTML page: the template with its style, the Vega bundle, the page logic and the data."""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
import re
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .charts_bundle import vega_bundle

_PLACEHOLDER = re.compile(r"__(TITLE|STYLE|DATA|VEGA|APP)__")


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _inline_script(code: str) -> str:
    """Script text that cannot close its `<script>` element early."""
    return code.replace("</script", "<\\/script")


def render(payload: dict[str, Any]) -> str:
    """The dashboard page for a payload of `marts.build_payload` (no external resource of any kind)."""
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False, default=str)
    # gzip + base64: a third of the JSON's size on large accounts, and nothing that could end the element
    packed = base64.b64encode(gzip.compress(data.encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii")
    parts = {
        "TITLE": html.escape(str(payload.get("source", ""))),
        "STYLE": _asset("dashboard.css"),
        "DATA": packed,
        "VEGA": _inline_script(vega_bundle()),
        "APP": _inline_script(_asset("dashboard.js")),
    }
    return _PLACEHOLDER.sub(lambda m: parts[m.group(1)], _asset("page.html"))


def write_atomically(path: str | Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file beside it, so readers never see half a page."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=target.parent, delete=False, encoding="utf-8", suffix=".tmp"
    ) as tmp:
        tmp.write(text)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, target)
    return target
