"""Defaults of the `woodpecker-etl` command line."""

from typing import Final

from sources.woodpecker_tables import table_names

PIPELINE_NAME: Final = "woodpecker"
DATASET_NAME: Final = "woodpecker"
DESTINATION: Final = "duckdb"
# Not "woodpecker.duckdb": DuckDB names a file's catalog after it, and a catalog named like the dataset
# makes every two-part name such as woodpecker.prospects ambiguous.
DUCKDB_PATH: Final = "./woodpecker_etl.duckdb"
# Destinations that use the DuckDB file: DuckDB itself, and a lake (its engagement tables live there).
DUCKDB_FILE_DESTINATIONS: Final = ("duckdb", "filesystem")

DEMO_PIPELINE_NAME: Final = "woodpecker_demo"
DEMO_DUCKDB_PATH: Final = "./woodpecker_demo.duckdb"
DEMO_SEED: Final = 7
DEMO_PROSPECTS: Final = 10_000
DEMO_CAMPAIGNS: Final = 30

# Parquet is the fast path into DuckDB and file destinations (insert_values is several times slower);
# other destinations use their own preferred format.
LOADER_FILE_FORMATS: Final = {"duckdb": "parquet", "motherduck": "parquet", "filesystem": "parquet"}

# DuckDB while loading: a merge would otherwise take up to 80 % of the machine's memory (DuckDB's
# default) and keep it until the process ends; capped, DuckDB streams and spills to the temporary
# directory next to the database file instead. One thread: every further one adds its own buffers, and
# the load of a chunk is not what a first load waits for (docs/performance.md, "Peak memory of a whole
# account"). 96 MB was too little for a chunk's merge at 500k whole-account prospects (DuckDB out of
# memory). The engagement models are built under a cap of their own (transforms/build.py).
DUCKDB_LOAD_CONFIG: Final = {"memory_limit": "256MB", "threads": 1, "preserve_insertion_order": False}
# dlt's loader: load jobs (one per table and file) one at a time, so their DuckDB inserts and merges do
# not hold memory side by side. Applied unless LOAD__WORKERS is set.
LOAD_WORKERS: Final = 1

# Seconds `load` and `transform` wait for other processes to close the DuckDB file (--lock-timeout,
# [woodpecker_etl] lock_timeout, WOODPECKER_ETL__LOCK_TIMEOUT).
LOCK_TIMEOUT_S: Final = 60.0
LOCK_TIMEOUT_CONFIG: Final = "woodpecker_etl.lock_timeout"

# Seconds between progress lines while a load runs.
PROGRESS_INTERVAL_S: Final = 2.0

# Tables the source loads, in the order the summary lists them (the declarations' order).
SOURCE_TABLES: Final = table_names()

# Prospects per request of `woodpecker-etl push`: the API's limit (sources.woodpecker.settings.
# MAX_PROSPECTS_PER_REQUEST, which the source package holds; tests/push/test_validate.py checks they agree).
PUSH_BATCH_SIZE: Final = 20_000

# Default port of `woodpecker-etl webhooks serve`.
WEBHOOK_PORT: Final = 8780
DASHBOARD_PORT: Final = 8790
WEBHOOK_HOST: Final = "127.0.0.1"
WEBHOOK_TOKEN_ENV: Final = "WOODPECKER_WEBHOOK_TOKEN"
WEBHOOK_MAX_BODY_BYTES: Final = 5 * 1024 * 1024
# A receiver's connection must have sent its request line and headers this many seconds after it opened
# (or after the first byte of its next request): what stops slow-header ("slowloris") clients holding it.
WEBHOOK_HEADER_TIMEOUT_S: Final = 10.0
# ... and its whole body this many seconds after its headers: a slow body gets 408.
WEBHOOK_BODY_TIMEOUT_S: Final = 30.0
# Many accounts (docs/accounts.md): workers when --workers is not given (at most one per account).
DEFAULT_MAX_WORKERS: Final = 4
# Dataset of the cross-account views: `<dataset>` + this suffix.
ALL_ACCOUNTS_SUFFIX: Final = "_all"
ACCOUNT_LAYOUT: Final = "dataset"
# Destinations whose writes the accounts of one run make in turn (extraction still runs in parallel).
ONE_WRITER_DESTINATIONS: Final = ()
