"""The sub-commands of `woodpecker-etl`, one module each, all wired the same way.

A command module holds its arguments (`add_arguments`, with the option groups of `arguments.py`), its
typed options (a frozen dataclass read once from the parsed arguments), its handler (`run`: options
in, exit code out) and its help, and ends with `COMMAND`, the `Command` that `pipelines/cli.py`'s
dispatch table lists. The workers a
handler calls live beside, in modules named for what they hold (`pipelines/load_run.py`,
`pipelines/push/`, `pipelines/dashboard/`, …); they never import a command module.

Start-up time: a command module imports nothing heavy at its top (no dlt, DuckDB, pandas, pyarrow,
sqlglot, nor a module that imports them), so `woodpecker-etl --help` and `<command> --help` answer at
once (tests/pipeline/test_cli_answers.py checks it). Its handler imports the workers it needs as its
first statements, under the same one-line comment in every command.
"""
