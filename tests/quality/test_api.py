"""The behaviour-test API runs the same runner as the admin and the command."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from behavior.management.commands.seed_demo import DEMO_AGENT_ID
from quality.models import BehaviorTest, TestRun
from quality.suite import load_suite_text
from quality.tasks import run_behavior_tests

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def demo():
    call_command("seed_demo")


def test_the_readme_example_is_a_valid_suite():
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    (example,) = [block for block in blocks if "expect:" in block]
    suite = load_suite_text(example, source="README")
    assert suite.agent_id == DEMO_AGENT_ID
    assert suite.tests[0].expect.journey.state == "check_test_drive_availability"


def test_a_run_of_stored_tests_is_queued_then_read(
    demo, api_client, django_capture_on_commit_callbacks
):
    BehaviorTest.objects.create(
        agent_id=DEMO_AGENT_ID,
        name="hi",
        definition={"message": "Hello!", "expect": {"reply_contains": ["drink"]}},
    )
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api_client.post("/quality/test-runs", {"agent_id": DEMO_AGENT_ID}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert len(queued) == 1
    run_behavior_tests.run(response.json()["id"])
    done = api_client.get(f"/quality/test-runs/{response.json()['id']}").json()
    assert done["status"] == "finished"
    assert done["passed"] == 1
    assert done["results"][0]["name"] == "hi"
    assert TestRun.objects.get().revision_id == done["revision_id"]


def test_bad_run_requests_get_clear_errors(demo, api_client):
    missing = api_client.post("/quality/test-runs", {}, format="json")
    assert missing.status_code == 422
    assert missing.json()["detail"] == "agent_id: This field is required."
    unknown = api_client.post("/quality/test-runs", {"agent_id": "nobody"}, format="json")
    assert unknown.status_code == 404
    assert api_client.get("/quality/test-runs/nothing").status_code == 404
    bad_revision = api_client.post(
        "/quality/test-runs", {"agent_id": DEMO_AGENT_ID, "revision_id": "x"}, format="json"
    )
    assert bad_revision.status_code == 422


def test_a_suite_posted_to_the_api_runs_at_once(demo, api_client):
    suite = {
        "agent": DEMO_AGENT_ID,
        "tests": [
            {
                "name": "greeting",
                "message": "Hello there!",
                "expect": {"guidelines_matched": ["the customer greets you"]},
            },
            {
                "name": "financing",
                "message": "Do you offer financing?",
                "expect": {"reply_contains": ["coffee"]},
            },
        ],
    }
    report = api_client.post("/quality/suite-runs", suite, format="json")
    assert report.status_code == 200
    assert report.json()["counts"] == {"passed": 1, "failed": 1, "error": 0}
    invalid = api_client.post(
        "/quality/suite-runs", {"agent": DEMO_AGENT_ID, "tests": [{"name": "x"}]}, format="json"
    )
    assert invalid.status_code == 422
    assert "request: test 'x'.message: expected a non-empty text" in invalid.json()["detail"]
    unknown = api_client.post("/quality/suite-runs", {**suite, "agent": "nobody"}, format="json")
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == "suite: no agent with id 'nobody'"
