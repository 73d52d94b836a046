"""Schema-driven fuzzing: valid and invalid requests for every documented operation, against
the product running in real processes, never get a 5xx.

Bounded in time for CI: a few examples per operation and generation mode (about 2 minutes in
all), waits capped at one second, and no Hypothesis database, so every run explores afresh.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode

from tests.support.live_stack import LiveStack, live_stack

EXAMPLES_PER_OPERATION_AND_MODE = 4


@pytest.fixture(scope="module")
def fuzzed_stack() -> LiveStack:
    # Long-polls and SSE streams would otherwise wait up to a minute per generated request.
    with live_stack({"PARLANT_MAX_WAIT_FOR_DATA_SECONDS": "1"}) as stack:
        yield stack


def _server_errors(operation, mode: GenerationMode, base_url: str) -> list[str]:
    found: list[str] = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case) -> None:
        try:
            case.call_and_validate(base_url=base_url, checks=[not_a_server_error], timeout=15)
        except (AssertionError, FailureGroup) as failure:
            if len(found) < 3:
                found.append(f"{case.method} {case.formatted_path}: {str(failure)[:1500]}")

    exercise()
    return found


def test_no_generated_request_gets_a_server_error(fuzzed_stack):
    # NUL characters are left out: the input-sanitising fuzz test (tests/sessions_app, issue 8)
    # covers them for every text field, and PostgreSQL refuses them inside JSON.
    config = SchemathesisConfig.from_dict(
        {"base-url": fuzzed_stack.url, "generation": {"allow-x00": False}}
    )
    schema = schemathesis.openapi.from_url(f"{fuzzed_stack.url}/openapi.json", config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _server_errors(operation, mode, fuzzed_stack.url)
    errors_logged = [line for line in fuzzed_stack.logs().splitlines() if "Error" in line]
    assert failures == [], "\n".join(failures + errors_logged[-20:])
