"""The ``statusgw`` command: run, demo, check-config, report, console, prompts.

Exit codes follow sysexits: 0 success, 64 bad usage, 78 bad configuration, 69 a peer the
command needs is unavailable, 70 an internal error. Messages go to stderr in one line that
names what is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway.settings import ConfigError, Settings, load_settings

EX_OK = 0
EX_USAGE = 64
EX_UNAVAILABLE = 69
EX_SOFTWARE = 70
EX_CONFIG = 78


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EX_USAGE
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"statusgw: configuration error: {exc}", file=sys.stderr)
        return EX_CONFIG
    except KeyboardInterrupt:
        return 130
    return code


def load(path: str | None) -> Settings:
    """Settings from ``path`` with the process environment's overrides (the only env read)."""
    return load_settings(Path(path) if path else None, os.environ)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statusgw",
        description="Dossier status by SMS and by phone for Vietnam's one-stop offices.",
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="run the enabled channels until SIGTERM/SIGINT")
    run.add_argument("--config", required=True, help="TOML configuration file")
    run.set_defaults(handler=_run)

    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("--config", required=True, help="TOML configuration file")
    check.set_defaults(handler=_check_config)

    demo = sub.add_parser("demo", help="a self-contained demonstration, no external service")
    demo.add_argument(
        "--stay", action="store_true", help="keep running after the scripted conversation"
    )
    demo.add_argument("--port", type=int, default=0, help="development SMSC port (0 = any)")
    demo.add_argument(
        "--http-port", type=int, default=8080, help="operator console port with --stay"
    )
    demo.set_defaults(handler=_demo)

    report = sub.add_parser(
        "report", help="lookups, calls and queue figures for a period, as CSV or JSON"
    )
    report.add_argument("--config", required=True, help="TOML configuration file")
    report.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD or ISO time")
    report.add_argument("--to", dest="end", help="YYYY-MM-DD (inclusive) or ISO time; default now")
    report.add_argument("--format", choices=("csv", "json"), default="csv")
    report.set_defaults(handler=_report)

    console = sub.add_parser("console", help="the operator console's helpers")
    console_sub = console.add_subparsers(metavar="ACTION")
    hashing = console_sub.add_parser(
        "hash-password", help="read a password, print its hash for [console] users"
    )
    hashing.add_argument("--name", default="NAME", help="sign-in name for the example line")
    hashing.add_argument(
        "--role", choices=("operator", "supervisor"), default="operator", help="for the example"
    )
    hashing.set_defaults(handler=_hash_password)

    _add_prompts(sub)
    return parser


def _report(args: argparse.Namespace) -> int:
    from gateway.clock import SystemClock
    from gateway.oversight import make_report
    from gateway.reports import PeriodError, report_file
    from gateway.store import StoreUnavailable

    settings = load(args.config)
    try:
        report, kept = asyncio.run(make_report(settings, args.start, args.end, SystemClock()))
    except PeriodError as exc:
        print(f"statusgw: {exc}", file=sys.stderr)
        return EX_USAGE
    except (StoreUnavailable, OSError) as exc:
        print(f"statusgw: the store is unavailable: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    if not kept:
        print(
            "statusgw: [store] url is memory://, which keeps nothing between runs", file=sys.stderr
        )
    sys.stdout.write(report_file(report, args.format).text)
    return EX_OK


def _hash_password(args: argparse.Namespace) -> int:
    import getpass

    from gateway.console.auth import MAX_PASSWORD_CHARS, hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("statusgw: the two passwords differ", file=sys.stderr)
            return EX_USAGE
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 10 or len(password) > MAX_PASSWORD_CHARS:
        print(f"statusgw: a password needs 10 to {MAX_PASSWORD_CHARS} characters", file=sys.stderr)
        return EX_USAGE
    encoded = hash_password(password)
    print(encoded)
    print(f'# [console] users entry: "{args.name}:{args.role}:{encoded}"', file=sys.stderr)
    return EX_OK


def _add_prompts(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    try:
        from prompts.cli import add_prompts_commands
    except ImportError:  # the prompts package is optional at this layer
        return
    add_prompts_commands(sub, load)


def _check_config(args: argparse.Namespace) -> int:
    settings = load(args.config)
    channels = [name for name in ("smpp", "ami", "http") if getattr(settings, name).enabled]
    print(
        f"{args.config}: ok (channels: {', '.join(channels) or 'none enabled'};"
        f" source: {settings.source.kind}; cache: {settings.cache.url.partition('://')[0]};"
        f" store: {settings.store.url.partition('://')[0]})"
    )
    return EX_OK


def _run(args: argparse.Namespace) -> int:
    from gateway.app import serve

    settings = load(args.config)
    return asyncio.run(serve(settings))


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    return asyncio.run(run_demo(stay=args.stay, port=args.port, http_port=args.http_port))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
