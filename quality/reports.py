"""Reports of behaviour-test runs: JUnit XML for CI dashboards, JSON for everything else."""

import json
from collections.abc import Sequence
from xml.etree import ElementTree

from quality.runner import ERROR, FAILED, SuiteResult


def _failure_text(result) -> str:
    lines = []
    for check in result.failures:
        lines.append(f"{check.expectation}: expected {check.expected!r}, got {check.actual!r}")
        if check.message:
            lines.append(f"  {check.message}")
    if result.reply:
        lines.append(f"reply: {' / '.join(result.reply)}")
    return "\n".join(lines)


def junit_xml(suites: Sequence[SuiteResult]) -> str:
    root = ElementTree.Element("testsuites")
    for suite in suites:
        counts = suite.counts()
        element = ElementTree.SubElement(
            root,
            "testsuite",
            name=suite.suite,
            tests=str(len(suite.results) or 1 if suite.error else len(suite.results)),
            failures=str(counts[FAILED]),
            errors=str(counts[ERROR] + (1 if suite.error else 0)),
            skipped=str(sum(1 for r in suite.results if r.skipped and r.status != FAILED)),
        )
        if suite.error:
            case = ElementTree.SubElement(
                element, "testcase", name="(suite)", classname=suite.suite
            )
            ElementTree.SubElement(case, "error", message=suite.error)
        for result in suite.results:
            case = ElementTree.SubElement(
                element,
                "testcase",
                name=result.name,
                classname=suite.suite,
                time=f"{result.duration_ms / 1000:.3f}",
            )
            if result.status == FAILED:
                failure = ElementTree.SubElement(
                    case, "failure", message=f"{len(result.failures)} expectation(s) failed"
                )
                failure.text = _failure_text(result)
            elif result.status == ERROR:
                ElementTree.SubElement(case, "error", message=result.error)
            for check in result.skipped:
                ElementTree.SubElement(
                    case, "skipped", message=f"{check.expected}: {check.message}"
                )
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


def json_report(suites: Sequence[SuiteResult]) -> str:
    return json.dumps(
        {"suites": [suite.as_dict() for suite in suites], "ok": all(s.is_ok for s in suites)},
        indent=2,
        default=str,
    )
