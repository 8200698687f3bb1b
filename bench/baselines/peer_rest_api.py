"""Peer baseline: the same Woodpecker endpoints through dlt's generic `rest_api_source`.

This is how a competent dlt user would configure the API by hand: page-number paging from page 1,
the "no prospects" message ignored, merge on the primary key, `diff=updated>` as an incremental
parameter, and dlt's defaults for everything else (file format, buffers, retries).

Run: ``python -m bench.baselines.peer_rest_api --base-url URL --api-key KEY --duckdb-path PATH
[--resources prospects]``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import dlt
from dlt.sources.rest_api import rest_api_source

NO_ROWS = {"content": "There are no prospects matching the given criteria", "action": "ignore"}


def _pages() -> dict[str, Any]:
    return {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None}


def _prospects_list(per_page: int, **params: Any) -> dict[str, Any]:
    """The paged `v1/prospects` endpoint with `params` besides `per_page`."""
    return {
        "path": "v1/prospects",
        "paginator": _pages(),
        "response_actions": [NO_ROWS],
        "params": {"per_page": per_page, **params},
    }


def peer_config(base_url: str, api_key: str, per_page: int = 1000) -> dict[str, Any]:
    """The `rest_api_source` configuration for campaigns, prospects and memberships."""
    return {
        "client": {
            "base_url": f"{base_url.rstrip('/')}/rest/",
            "auth": {"type": "api_key", "name": "x-api-key", "api_key": api_key, "location": "header"},
        },
        "resource_defaults": {"write_disposition": "merge", "endpoint": {"data_selector": "$"}},
        "resources": [
            {
                "name": "campaigns",
                "primary_key": "id",
                "endpoint": {"path": "v1/campaign_list", "paginator": "single_page"},
            },
            {
                "name": "campaign_details",
                "primary_key": "id",
                "endpoint": {
                    "path": "v2/campaigns/{resources.campaigns.id}",
                    "paginator": "single_page",
                    "response_actions": [{"status_code": 409, "action": "ignore"}],
                },
            },
            {
                "name": "prospects",
                "primary_key": "id",
                "endpoint": _prospects_list(
                    per_page,
                    sort="+updated",
                    diff={
                        "type": "incremental",
                        "cursor_path": "updated",
                        "initial_value": "2000-01-01T00:00:00+0000",
                        "convert": lambda value: f"updated>{value}",
                    },
                ),
            },
            {
                "name": "campaign_prospects",
                "primary_key": ["campaign_id", "id"],
                "endpoint": _prospects_list(per_page, campaigns_id="{resources.campaigns.id}"),
            },
        ],
    }


def main() -> None:
    """Load the simulator (or any Woodpecker base URL) with the peer configuration."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--duckdb-path", required=True)
    parser.add_argument("--pipelines-dir", required=True)
    parser.add_argument("--resources", default=None)
    args = parser.parse_args()
    source = rest_api_source(peer_config(args.base_url, args.api_key), name="woodpecker_peer")
    if args.resources:
        source = source.with_resources(*args.resources.split(","))
    pipeline = dlt.pipeline(
        pipeline_name="woodpecker_peer",
        destination=dlt.destinations.duckdb(credentials=args.duckdb_path),
        dataset_name="woodpecker",
        pipelines_dir=args.pipelines_dir,
    )
    pipeline.run(source).raise_on_failed_jobs()


if __name__ == "__main__":
    main()
