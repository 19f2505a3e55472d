"""Command line: serve the MCP server, run the demo, inspect stored designs without an assistant."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from ml_systemization import __version__
from ml_systemization.errors import MLSystemizationError
from ml_systemization.settings import RuleSettings, Settings, effective_rule_settings

TRANSPORTS = ("stdio", "http")


def _settings(args: argparse.Namespace) -> Settings:
    from ml_systemization.store import default_db_path

    templates = args.templates or os.environ.get("ML_SYSTEMIZATION_TEMPLATES")
    return Settings(
        db_path=Path(args.db).expanduser() if args.db else default_db_path(),
        templates_dir=Path(templates).expanduser() if templates else None,
        rules=_rule_settings(args.rule or []),
    )


def _rule_settings(pairs: Sequence[str]) -> RuleSettings:
    """Server-wide rule settings from repeated `--rule KEY=VALUE` options."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in RuleSettings.model_fields:
            raise MLSystemizationError(
                f"--rule {pair!r}: use KEY=VALUE with KEY one of "
                f"{', '.join(RuleSettings.model_fields)}."
            )
        values[key] = value
    try:
        return RuleSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{err['loc'][0]}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise MLSystemizationError(f"--rule: {problems}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ml-systemization",
        description="Design ML/LLM features for production: an MCP server and its tools.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="PATH",
        help="SQLite file (default: $ML_SYSTEMIZATION_DB or the user data directory)",
    )
    common.add_argument(
        "--templates",
        metavar="DIR",
        help="Folder of template overrides, by file name (default: $ML_SYSTEMIZATION_TEMPLATES)",
    )
    common.add_argument(
        "--rule",
        action="append",
        metavar="KEY=VALUE",
        help="server-wide rule setting, e.g. --rule alpha=0.01 (repeatable)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", parents=[common], help="run the MCP server")
    serve.add_argument("--transport", choices=TRANSPORTS, default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument("--path", default="/mcp", help="HTTP endpoint path (default /mcp)")

    demo = sub.add_parser(
        "demo", parents=[common], help="drive the shipped examples through a real stdio server"
    )
    demo.add_argument("--out", metavar="DIR", default="ml-systemization-demo", help="output folder")
    demo.add_argument("--example", action="append", help="example name (default: all)")

    sub.add_parser("list", parents=[common], help="list stored designs")
    show = sub.add_parser("show", parents=[common], help="print one design as JSON")
    show.add_argument("design_id")
    rev = sub.add_parser("review", parents=[common], help="print the quality bar and findings")
    rev.add_argument("design_id")
    rev.add_argument("--json", action="store_true", help="machine-readable output")
    render = sub.add_parser("render", parents=[common], help="write the seven artifacts")
    render.add_argument("design_id")
    render.add_argument("--out", metavar="DIR", required=True, help="output folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        if args.command == "serve":
            return _serve(settings, args)
        if args.command == "demo":
            from ml_systemization.demo import run_demo

            return run_demo(settings, Path(args.out), args.example)
        return _inspect(settings, args)
    except MLSystemizationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from ml_systemization.server import build_server

    server = build_server(settings)
    if args.transport == "stdio":
        server.run()
    else:
        print(
            f"ml-systemization: serving streamable HTTP on http://{args.host}:{args.port}"
            f"{args.path} (db {settings.db_path})",
            file=sys.stderr,
        )
        server.run(
            "streamable-http", host=args.host, port=args.port, streamable_http_path=args.path
        )
    return 0


def _inspect(settings: Settings, args: argparse.Namespace) -> int:
    from ml_systemization.artifacts import render_design
    from ml_systemization.findings import SEVERITY_ORDER
    from ml_systemization.quality import review
    from ml_systemization.render import Renderer
    from ml_systemization.store import SQLiteStore

    with SQLiteStore(settings.db_path) as store:
        if args.command == "list":
            summaries, total = store.list(limit=200)
            if not summaries:
                print(f"No designs in {settings.db_path}. Run `ml-systemization demo` to add two.")
                return 0
            print(f"{'DESIGN ID':<14} {'REV':>4}  {'UPDATED':<20} FEATURE")
            for s in summaries:
                updated = s.updated_at.strftime("%Y-%m-%d %H:%M:%S")
                print(f"{s.id:<14} {s.revision:>4}  {updated:<20} {s.feature or '-'}")
            if total > len(summaries):
                print(f"... {total - len(summaries)} more")
            return 0
        record = store.get(args.design_id)
        if args.command == "show":
            print(
                json.dumps(
                    {
                        "design_id": record.id,
                        "revision": record.revision,
                        "design": record.design.model_dump(mode="json"),
                    },
                    indent=2,
                )
            )
            return 0
        rules = effective_rule_settings(settings.rules, record.design.rule_settings)
        result = review(record.design, rules)
        if args.command == "review":
            if args.json:
                print(result.model_dump_json(indent=2))
                return 0 if result.ready else 1
            print(f"{record.design.context.feature} ({record.id}, revision {record.revision})")
            print(result.summary)
            for check in result.quality_bar:
                print(f"  [{'pass' if check.passed else 'FAIL'}] {check.id} {check.title}")
                print(f"         {check.reason}")
                if check.fix:
                    print(f"         fix: {check.fix}")
            shown = sorted(
                (f for f in result.findings if f.kind == "violation"),
                key=lambda f: SEVERITY_ORDER[f.severity],
            )
            for finding in shown:
                waived = " (waived)" if finding.waived else ""
                print(f"  {finding.severity:<7} {finding.rule_id}{waived}: {finding.message}")
                print(f"          fix: {finding.fix}")
            return 0 if result.ready else 1
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        rendered = render_design(
            Renderer(settings.templates_dir),
            record.design,
            design_id=record.id,
            revision=record.revision,
            rules=rules,
        )
        for name, text in rendered.items():
            (out / f"{name}.md").write_text(text, encoding="utf-8")
        print(f"Wrote 7 artifacts for {record.id} to {out}")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
