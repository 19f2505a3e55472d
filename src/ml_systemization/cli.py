"""Command line: serve the MCP server, run the demo, inspect stored designs without an assistant."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from ml_systemization import __version__
from ml_systemization.errors import MLSystemizationError
from ml_systemization.settings import (
    DEFAULT_RETENTION_DAYS,
    Limits,
    RuleSettings,
    Settings,
    effective_rule_settings,
)

if TYPE_CHECKING:
    from ml_systemization.store import SQLiteStore

TRANSPORTS = ("stdio", "http")
_M = TypeVar("_M", RuleSettings, Limits)


def _settings(args: argparse.Namespace) -> Settings:
    from ml_systemization.locations import default_db_path

    templates = args.templates or os.environ.get("ML_SYSTEMIZATION_TEMPLATES")
    if args.retention_days < 0:
        raise MLSystemizationError("--retention-days must be 0 or more.")
    export_dir = getattr(args, "export_dir", None)
    return Settings(
        db_path=Path(args.db).expanduser() if args.db else default_db_path(),
        templates_dir=Path(templates).expanduser() if templates else None,
        rules=_key_values(RuleSettings, "--rule", args.rule or []),
        limits=_key_values(Limits, "--limit", args.limit or []),
        retention_days=args.retention_days,
        export_dir=Path(export_dir).expanduser() if export_dir else None,
    )


def _key_values(model: type[_M], option: str, pairs: Sequence[str]) -> _M:
    """Settings from repeated `--rule KEY=VALUE` or `--limit KEY=VALUE` options."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in model.model_fields:
            raise MLSystemizationError(
                f"{option} {pair!r}: use KEY=VALUE with KEY one of {', '.join(model.model_fields)}."
            )
        values[key] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{err['loc'][0]}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise MLSystemizationError(f"{option}: {problems}") from exc


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a revision number (1 or more)")
    return value


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
    common.add_argument(
        "--limit",
        action="append",
        metavar="KEY=VALUE",
        help="size limit, e.g. --limit max_text_chars=5000 (repeatable; keys: "
        f"{', '.join(Limits.model_fields)})",
    )
    common.add_argument(
        "--retention-days",
        type=int,
        default=DEFAULT_RETENTION_DAYS,
        metavar="N",
        help=f"days a deleted design stays restorable (default {DEFAULT_RETENTION_DAYS})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", parents=[common], help="run the MCP server")
    serve.add_argument("--transport", choices=TRANSPORTS, default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument("--path", default="/mcp", help="HTTP endpoint path (default /mcp)")
    serve.add_argument(
        "--export-dir",
        metavar="DIR",
        help="folder export_design may write bundles into (default: it writes no files)",
    )

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
    export = sub.add_parser(
        "export", parents=[common], help="write design.json and the seven artifacts to a folder"
    )
    export.add_argument("design_id")
    export.add_argument("--out", metavar="DIR", required=True, help="output folder")
    export.add_argument(
        "--revision", type=_positive_int, help="revision to export (default: current)"
    )
    imp = sub.add_parser(
        "import", parents=[common], help="create a design from an export folder or JSON file"
    )
    imp.add_argument("path", help="folder written by export, or a bundle/design JSON file")
    purge = sub.add_parser(
        "purge", parents=[common], help="remove deleted designs past their retention period"
    )
    purge.add_argument(
        "--expired", action="store_true", required=True, help="purge every expired design"
    )
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
        if args.command in ("export", "import", "purge"):
            return _transfer(settings, args)
        return _inspect(settings, args)
    except MLSystemizationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


# Room for the JSON-RPC envelope around a call's arguments (method, ids, _meta).
HTTP_ENVELOPE_BYTES = 64 * 1024
# max_argument_bytes counts UTF-8; a client may send non-ASCII text as \uXXXX escapes, which
# take up to 3 times as many bytes (6 for a 2-byte character, 12 for a 4-byte one).
HTTP_ESCAPE_FACTOR = 3


def http_body_limit(settings: Settings) -> int:
    """Largest HTTP request body the server reads: a call at max_argument_bytes, however its
    client escapes text, plus the envelope. Anything larger is answered 413 before it is
    parsed, so an oversize body costs no more memory than that; a call over the limit but
    under this size still gets the tool error that names its size."""
    return HTTP_ESCAPE_FACTOR * settings.limits.max_argument_bytes + HTTP_ENVELOPE_BYTES


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from ml_systemization.locations import (
        check_database_file,
        check_templates_dir,
        probe_writable,
    )
    from ml_systemization.server import build_server

    # The store and the renderer open on the first call; an unusable path should stop the
    # server now.
    probe_writable(settings.db_path)
    check_database_file(settings.db_path)
    if settings.templates_dir is not None:
        check_templates_dir(settings.templates_dir.resolve())
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
            "streamable-http",
            host=args.host,
            port=args.port,
            streamable_http_path=args.path,
            max_request_body_size=http_body_limit(settings),
        )
    return 0


def _inspect(settings: Settings, args: argparse.Namespace) -> int:
    from ml_systemization.artifacts import render_design
    from ml_systemization.findings import SEVERITY_ORDER
    from ml_systemization.quality import review
    from ml_systemization.render import Renderer

    with _open_store(settings) as store:
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


def _open_store(settings: Settings) -> SQLiteStore:
    from ml_systemization.store import SQLiteStore

    return SQLiteStore(
        settings.db_path, limits=settings.limits, retention_days=settings.retention_days
    )


def _transfer(settings: Settings, args: argparse.Namespace) -> int:
    """export, import and purge: move designs in and out of the database."""
    from ml_systemization import bundle
    from ml_systemization.artifacts import render_design
    from ml_systemization.render import Renderer

    with _open_store(settings) as store:
        if args.command == "purge":
            purged = store.purge_expired()
            print(
                f"Purged {len(purged)} design(s) deleted more than {settings.retention_days} "
                f"days ago{': ' + ', '.join(purged) if purged else ''}"
            )
            return 0
        if args.command == "import":
            imported = bundle.read_bundle(bundle.read_path(Path(args.path)))
            record = store.create(
                imported.design,
                tool="import_design",
                actor="cli",
                change={
                    "source_design_id": imported.source_design_id,
                    "source_revision": imported.source_revision,
                    "migrated_from": imported.migrated_from,
                },
            )
            print(record.id)
            return 0
        record = store.get(args.design_id)
        revision = record.revision if args.revision is None else args.revision
        design = (
            record.design if revision == record.revision else store.design_at(record.id, revision)
        )
        rules = effective_rule_settings(settings.rules, design.rule_settings)
        artifacts = render_design(
            Renderer(settings.templates_dir),
            design,
            design_id=record.id,
            revision=revision,
            rules=rules,
        )
        made = bundle.make_bundle(
            design, design_id=record.id, revision=revision, artifacts=artifacts
        )
        written = bundle.write_folder(made, Path(args.out))
        print(f"Wrote {len(written)} files for {record.id} revision {revision} to {args.out}")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
