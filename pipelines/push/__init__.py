"""`woodpecker-etl push`: send prospects from the warehouse (or a file) to Woodpecker, resumably.

Modules: `options` (arguments and their checks), `inputs` (table, query or file), `validate` (rules
applied before sending), `results` (the `push_results` table) and `run` (batching and output).
"""

from .options import PushOptions
from .run import run_push

__all__ = ["PushOptions", "run_push"]
