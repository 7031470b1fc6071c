"""The ``feedback-ops`` command: run the pipeline or one stage without Airflow, search, print the summary.

The commands call the same functions as the Airflow tasks (``feedback_ops.pipeline``), so anything a DAG does
can be run and debugged from a terminal::

    feedback-ops run                 # every stage, in order, like the feedback_pipeline DAG
    feedback-ops run --stage enrich  # one stage
    feedback-ops summary             # the run summary
    feedback-ops search "checkout payment failed" --category bug
    feedback-ops estimate            # tokens and cost of enriching what is pending with the cloud model
    feedback-ops eval                # measure the enrichment backend on the golden set (include/golden)
    feedback-ops review list         # the human review queue (also: show, accept, correct, export-golden)
    feedback-ops review-web          # the review page on http://127.0.0.1:8765
    feedback-ops alerts list         # alerts and their lifecycle (also: ack, resolve, serve-callbacks)
    feedback-ops grants              # Unity Catalog grants / column masks of the raw vs redacted boundary
    feedback-ops retention           # purge raw text past retention (include/retention.yaml)
    feedback-ops files list          # loaded landing files and the parked ones (also: release, drop)

Output and errors (``feedback_ops.console``): everything printed goes through ``terminal_text`` (no escape
sequence or control character from customer text reaches the terminal). Every failure is one ``error: …``
line on stderr: bad arguments or input (argparse's checks, a ``CommandError``, a ``ValueError`` or
``OverflowError`` such as an impossible date) exit 2; a command's own ``CommandError`` may say 1 (e.g. an
unknown alert id); any other exception is reported as ``error: unexpected <type>: …`` with exit 1, and
``feedback-ops --traceback …`` shows its traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from feedback_ops import pipeline
from feedback_ops.config import get_settings
from feedback_ops.console import (
    CommandError,
    iso_datetime,
    non_negative_int,
    one_line,
    positive_int,
    safe_terminal,
)


def _run(args: argparse.Namespace) -> int:
    names = [args.stage] if args.stage else pipeline.STAGE_NAMES
    for name in names:
        result = pipeline.run_stage(name)
        if not isinstance(result, str):  # the summary prints itself
            print(f"[{name}] {json.dumps(result, default=str)[:400]}")
    return 0


def _summary(_: argparse.Namespace) -> int:
    print(pipeline.summarize())
    return 0


def _search(args: argparse.Namespace) -> int:
    from feedback_ops.embed.factory import make_embedder
    from feedback_ops.search.factory import make_search_index

    settings = get_settings()
    embedder = make_embedder(settings)
    index = make_search_index(settings, embedder.dimensions)
    filters = {k: v for k, v in {"category": args.category, "channel": args.channel}.items() if v}
    try:
        hits = index.query(args.query, embedder.embed([args.query])[0], top=args.top, filters=filters)
    finally:
        index.close()
    for hit in hits:
        meta = hit.metadata
        print(
            f"{hit.score:.4f}  {hit.feedback_id}  [{meta.get('channel')} / {meta.get('category')}]  {hit.text[:140]}"
        )
    return 0


def _estimate(args: argparse.Namespace) -> int:
    from feedback_ops.enrich.backends import make_enricher
    from feedback_ops.enrich.estimate import estimate_pending, render_estimate
    from feedback_ops.warehouse import open_warehouse

    settings = get_settings()
    backend = args.backend or (
        settings.enrichment_backend if settings.enrichment_backend != "local" else "azure_openai"
    )
    enricher = make_enricher(settings, backend)
    with open_warehouse(settings) as warehouse:
        print(render_estimate(estimate_pending(warehouse, enricher)))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from feedback_ops.evaluation.runner import evaluate_golden, format_summary

    summary = evaluate_golden(
        get_settings(),
        backend=args.backend,
        out_dir=Path(args.out) if args.out else None,
        baseline=Path(args.baseline) if args.baseline else None,
        batch_size=args.batch_size,
        update=args.update_baseline,
    )
    print(format_summary(summary))
    return 1 if args.check and summary["passed"] is False and not summary["baseline_updated"] else 0


def _add_eval_parser(commands: Any) -> None:
    from feedback_ops.config import ENRICHMENT_BACKENDS
    from feedback_ops.evaluation.runner import DEFAULT_BATCH_SIZE

    evaluate = commands.add_parser(
        "eval", help="measure an enrichment backend on the golden set and compare it with its baseline"
    )
    evaluate.add_argument("--backend", choices=ENRICHMENT_BACKENDS, help="default: the configured backend")
    evaluate.add_argument(
        "--out", help="report folder (default .local/evaluation/<version>-<backend>-<time>)"
    )
    evaluate.add_argument("--baseline", help="baseline file (default include/golden/baseline_<backend>.json)")
    evaluate.add_argument(
        "--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE, help="records per call"
    )
    evaluate.add_argument(
        "--update-baseline",
        action="store_true",
        help="rewrite the baseline with this run's figures (deliberately: after a reviewed model change)",
    )
    evaluate.add_argument(
        "--check", action="store_true", help="exit 1 when a figure regressed beyond tolerance"
    )
    evaluate.set_defaults(handler=_eval)


def _generate(args: argparse.Namespace) -> int:
    from datetime import UTC
    from pathlib import Path

    from feedback_ops.synthetic.load_generator import LoadGenerator

    start = args.start.replace(tzinfo=UTC)
    generator = LoadGenerator(
        args.records, days=args.days, start=start, seed=args.seed, incidents=args.incidents
    )
    manifest = generator.generate(Path(args.out))
    print(json.dumps(manifest.__dict__, indent=2))
    print(f"wrote {manifest.files} files to {args.out}; load them with FEEDBACK_OPS_LANDING_DIR={args.out}")
    return 0


class CommandLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` (and, through ``add_subparsers``, its subcommands' parsers) whose usage errors
    are raised as ``CommandError`` - one line on stderr, exit 2 - instead of usage text and an exit."""

    def error(self, message: str) -> NoReturn:
        """Raise ``message`` as a ``CommandError`` naming the command; ``--help`` shows the usage."""
        raise CommandError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``feedback-ops`` command."""
    parser = CommandLineParser(prog="feedback-ops", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on an unexpected error, show the traceback (for a bug report)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline (or one stage) without Airflow")
    run.add_argument("--stage", choices=pipeline.STAGE_NAMES, help="run only this stage")
    run.set_defaults(handler=_run)
    commands.add_parser("summary", help="print the run summary").set_defaults(handler=_summary)
    search = commands.add_parser("search", help="hybrid search over the redacted feedback index")
    search.add_argument("query")
    search.add_argument("--top", type=positive_int, default=10)
    search.add_argument("--category")
    search.add_argument("--channel")
    search.set_defaults(handler=_search)
    estimate = commands.add_parser(
        "estimate", help="tokens and cost of enriching the pending records with a cloud model (no call made)"
    )
    estimate.add_argument(
        "--backend",
        choices=["azure_openai", "openai_compatible"],
        help="the cloud backend to estimate (default: the configured one, else azure_openai)",
    )
    estimate.set_defaults(handler=_estimate)
    _add_eval_parser(commands)
    from feedback_ops.review.terminal import add_review_parsers

    add_review_parsers(commands)
    from feedback_ops.alerts.terminal import add_alert_parsers

    add_alert_parsers(commands)
    from feedback_ops.ops.terminal import add_ops_parsers

    add_ops_parsers(commands)
    from feedback_ops.ingest.terminal import add_files_parsers

    add_files_parsers(commands)
    from feedback_ops.search.terminal import add_search_parsers

    add_search_parsers(commands)
    generate = commands.add_parser(
        "generate", help="write realistic multi-channel feedback exports at any volume (the load generator)"
    )
    generate.add_argument(
        "--records", type=non_negative_int, required=True, help="records to generate (before duplicates)"
    )
    generate.add_argument(
        "--days", type=positive_int, default=28, help="days of feedback, from --start (default 28)"
    )
    generate.add_argument(
        "--start", type=iso_datetime, default="2026-11-01", help="first day, YYYY-MM-DD (UTC)"
    )
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument(
        "--incidents", type=non_negative_int, help="planted incidents (default: one per 10 days)"
    )
    generate.add_argument("--out", default=".local/landing_generated", help="folder to write the files into")
    generate.set_defaults(handler=_generate)
    return parser


def _fail(message: str, exit_code: int) -> int:
    print(f"error: {one_line(message)}", file=sys.stderr)
    return exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``feedback-ops`` command: the exit code (0 done; 2 bad input; 1 failed).

    Output goes through ``console.terminal_text``; errors are one line on stderr (see the module docstring).
    """
    with safe_terminal():
        args = None
        try:
            args = build_parser().parse_args(argv)
            return args.handler(args)
        except CommandError as error:
            return _fail(str(error), error.exit_code)
        except (ValueError, OverflowError) as error:  # input a deeper check refused: an impossible date, …
            return _fail(str(error) or type(error).__name__, 2)
        except KeyboardInterrupt:
            return _fail("interrupted", 130)
        except Exception as error:
            if args is not None and args.traceback:
                raise
            return _fail(
                f"unexpected {type(error).__name__}: {error} (rerun with --traceback for details)", 1
            )


if __name__ == "__main__":
    sys.exit(main())
