"""manage.py test_behavior PATH... : run behaviour-test suites, for developers and CI."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from quality.reports import json_report, junit_xml
from quality.runner import DEFAULT_CONCURRENCY, ERROR, FAILED, PASSED, run_suite
from quality.suite import SuiteError, load_suite_file

SUITE_SUFFIXES = (".yaml", ".yml", ".json")


def suite_paths(paths: list[str]) -> list[Path]:
    """Files as given; directories contribute their YAML and JSON files, sorted."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in SUITE_SUFFIXES)
        else:
            found.append(path)
    return found


class Command(BaseCommand):
    help = (
        "Run behaviour-test suites (YAML or JSON). Exit status 0 when every test passes, 1 when "
        "one fails or errs, 2 when a suite file is invalid."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", help="suite files or directories of them")
        parser.add_argument("-k", dest="keyword", help="run tests whose name contains this")
        parser.add_argument("--junit", dest="junit", help="write a JUnit XML report here")
        parser.add_argument("--json", dest="json", help="write a JSON report here")
        parser.add_argument(
            "--parallel",
            type=int,
            default=DEFAULT_CONCURRENCY,
            help="tests run at once (default %(default)s)",
        )

    def handle(self, *args, **options) -> None:
        paths = suite_paths(options["paths"])
        if not paths:
            raise CommandError("No suite files found.")
        suites, problems = [], []
        for path in paths:
            try:
                suites.append(load_suite_file(path))
            except SuiteError as error:
                problems += error.problems
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} problem(s) in the suite files.", returncode=2)

        results = []
        for suite in suites:
            result = run_suite(
                suite,
                keyword=options["keyword"],
                concurrency=options["parallel"],
                on_result=None,
            )
            results.append(result)
            self._print(result)

        if options["junit"]:
            Path(options["junit"]).write_text(junit_xml(results))
        if options["json"]:
            Path(options["json"]).write_text(json_report(results))
        totals = {PASSED: 0, FAILED: 0, ERROR: 0}
        for result in results:
            for status, count in result.counts().items():
                totals[status] += count
        suite_errors = sum(1 for result in results if result.error)
        summary = f"{totals[PASSED]} passed, {totals[FAILED]} failed, {totals[ERROR]} error(s)" + (
            f", {suite_errors} suite(s) could not run" if suite_errors else ""
        )
        if totals[FAILED] or totals[ERROR] or suite_errors:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))

    def _print(self, result) -> None:
        self.stdout.write(f"{result.suite} (behaviour {result.snapshot_version or '-'})")
        if result.error:
            self.stdout.write(self.style.ERROR(f"  could not run: {result.error}"))
        for test in result.results:
            style = {PASSED: self.style.SUCCESS, FAILED: self.style.ERROR}.get(
                test.status, self.style.WARNING
            )
            skipped = f" ({len(test.skipped)} skipped)" if test.skipped else ""
            self.stdout.write(style(f"  {test.status.upper():7} {test.name}{skipped}"))
            if test.error:
                self.stdout.write(f"          {test.error}")
            for check in test.failures:
                self.stdout.write(
                    f"          {check.expectation}: expected {check.expected!r}, "
                    f"got {check.actual!r}"
                )
            for check in test.skipped:
                self.stdout.write(f"          skipped {check.expected!r}: {check.message}")
