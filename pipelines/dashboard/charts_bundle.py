"""The charting library inlined into every page: Vega, Vega-Lite and Vega-Embed from `vl-convert-python`.

`vl_convert.javascript_bundle()` assembles the libraries (about 0.9 MB) from the package itself, with
no download; a first call in a process takes seconds, so the result is cached on disk per
vl-convert version (`$XDG_CACHE_HOME/woodpecker-etl/`, default `~/.cache/woodpecker-etl/`).
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from ..exit_codes import CliError, ExitCode

INSTALL_HINT = "The dashboard needs its extra: pip install -e '.[dashboard]' (make venv installs it)."


def cache_dir() -> Path:
    """Where the assembled bundle is kept."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "woodpecker-etl"


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """The JavaScript of Vega, Vega-Lite and Vega-Embed, defining `vegaEmbed`, `vegaLite` and `vega`.

    Raises:
        CliError: vl-convert-python is not installed (exit code 2).
    """
    try:
        import vl_convert
    except ImportError as exc:
        raise CliError(INSTALL_HINT, ExitCode.CONFIGURATION) from exc
    version = vl_convert.__version__ if hasattr(vl_convert, "__version__") else vl_convert.get_vega_version()
    path = cache_dir() / f"vega-bundle-{version}-{vl_convert.get_vega_version()}.js"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle: str = vl_convert.javascript_bundle()  # type: ignore[call-arg]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as tmp:
            tmp.write(bundle)
        os.replace(tmp.name, path)
    except OSError:  # a read-only home: keep it in memory only
        pass
    return bundle
