"""axe-core (npm, pinned in axe/package.json) injected into a page: no critical or serious rule."""

import shutil
import subprocess
from functools import cache
from pathlib import Path

AXE_DIRECTORY = Path(__file__).parent / "axe"
AXE_SCRIPT = AXE_DIRECTORY / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("critical", "serious")


@cache
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        assert npm, "the accessibility checks need Node.js and npm (axe-core comes from npm)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_DIRECTORY, check=True,
                       timeout=300, capture_output=True)
    return AXE_SCRIPT.read_text()


def serious_violations(page) -> list[str]:
    """axe's critical and serious findings on the page as it is now, one line per rule."""
    # Admin widgets (select filters, autocompletes) are built on load: judge the finished page.
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source())
    return page.evaluate(
        """async (impacts) => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations
              .filter((rule) => impacts.includes(rule.impact))
              .map((rule) => `${rule.impact} ${rule.id}: ${rule.help} at ` +
                rule.nodes.slice(0, 3).map((node) => node.target.join(" ")).join(" | "));
        }""",
        list(BLOCKING_IMPACTS),
    )


def assert_accessible(page) -> None:
    violations = serious_violations(page)
    assert violations == [], f"axe on {page.url}:\n" + "\n".join(violations)
