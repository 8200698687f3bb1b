"""`python -m simulator`: serve a generated Woodpecker account until Ctrl-C."""

from __future__ import annotations

import argparse
import time

from . import Simulator
from .config import DEFAULT_API_KEY, FAULT_KINDS, NO_ADDON_API_KEY, SimulatorConfig


def build_parser() -> argparse.ArgumentParser:
    """The options of `python -m simulator`, each with its help and default."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Serve a generated Woodpecker account over HTTP on this machine (Ctrl-C stops). Point "
        "woodpecker-etl at it with --base-url http://HOST:PORT --api-key KEY.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free one)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the account: same seed, same account")
    parser.add_argument("--prospects", type=int, default=10_000, help="live prospects generated")
    parser.add_argument("--campaigns", type=int, default=30, help="campaigns generated (every status from 6)")
    parser.add_argument(
        "--avg-memberships", type=float, default=3.0, help="average campaigns per enrolled prospect"
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the account's API key")
    parser.add_argument(
        "--agency-key", default=None, help="agency key that also opens this account (with x-company-id)"
    )
    parser.add_argument("--company-id", type=int, default=1, help="x-company-id of this account")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="extra latency per request")
    parser.add_argument("--row-latency-us", type=float, default=0.0, help="extra latency per row served")
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of requests answered with a fault (0 to 1)"
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the random faults")
    parser.add_argument(
        "--fault-kinds", default=",".join(FAULT_KINDS), help="comma-separated faults to draw from"
    )
    parser.add_argument(
        "--rate-limit",
        choices=("reject", "queue"),
        default="reject",
        help="a second request at once: reject (409 E_TOO_MANY_REQUESTS) or queue it",
    )
    parser.add_argument(
        "--auto-bumps-updated", action="store_true", help="automatic events move a prospect's `updated`"
    )
    parser.add_argument(
        "--page-size-cap", type=int, default=None, help="serve at most this many rows per page (1..1000)"
    )
    parser.add_argument("--no-total-count", action="store_true", help="answer lists without X-Total-Count")
    parser.add_argument(
        "--overcount", type=int, default=0, help="X-Total-Count counts this many rows the pages never serve"
    )
    parser.add_argument("--no-date", action="store_true", help="answer without a Date header")
    parser.add_argument(
        "--date-skew-s",
        type=float,
        default=0.0,
        help="seconds the Date header runs ahead of the data's clock (negative: behind)",
    )
    return parser


def main() -> None:
    """Parse the options, generate the account and serve it."""
    parser = build_parser()
    args = parser.parse_args()
    try:
        config = SimulatorConfig(
            seed=args.seed,
            prospects=args.prospects,
            campaigns=args.campaigns,
            avg_memberships=args.avg_memberships,
            api_key=args.api_key,
            agency_key=args.agency_key,
            company_id=args.company_id,
            latency_s=args.latency_ms / 1000,
            row_latency_s=args.row_latency_us / 1_000_000,
            fault_rate=args.fault_rate,
            fault_seed=args.fault_seed,
            fault_kinds=tuple(k for k in args.fault_kinds.split(",") if k),
            rate_limit=args.rate_limit,
            auto_bumps_updated=args.auto_bumps_updated,
            page_size_cap=args.page_size_cap,
            total_count=not args.no_total_count,
            overcount=args.overcount,
            date_header=not args.no_date,
            date_skew_s=args.date_skew_s,
        )
    except ValueError as exc:
        parser.error(str(exc))
    started = time.perf_counter()
    try:
        sim = Simulator(config, port=args.port, host=args.host)
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    account = sim.account
    print(
        f"Woodpecker simulator serving {sim.base_url}  (generated in {time.perf_counter() - started:.1f} s)"
    )
    print(f"  API key: {sim.api_key}   (key without the API add-on, for 403 tests: {NO_ADDON_API_KEY})")
    print(
        f"  {len(account.prospects):,} prospects, {len(account.campaigns)} campaigns, "
        f"{len(account.memberships):,} memberships, {len(account.events):,} events; seed {config.seed}"
    )
    print("  GET /rest/v1/prospects, /rest/v1/campaign_list, /rest/v2/campaigns/{id}, /rest/v2/webhooks;")
    print("  POST /rest/v1/add_prospects_list, /rest/v1/add_prospects_campaign,")
    print("       /rest/v1/webhooks/subscribe, /rest/v1/webhooks/unsubscribe;")
    print("  DELETE /rest/v1/prospects.  Ctrl-C stops.", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        print("stopped")


if __name__ == "__main__":
    main()
