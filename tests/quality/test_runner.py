"""Running behaviour tests: the demo suite in CI, failures, inline behaviour, older versions."""

import json
from pathlib import Path

import pytest
import reversion
from django.core.management import CommandError, call_command

from behavior import history
from behavior.management.commands.seed_demo import DEMO_AGENT_ID
from behavior.models import Agent, CannedResponse, Guideline
from behavior.transfer import behavior_export
from quality.runner import run_suite
from quality.suite import load_suite_text
from quality.versions import current_revision_id
from sessions_app.models import Event, Session, Turn

pytestmark = pytest.mark.django_db

DEMO_SUITE = Path(__file__).resolve().parents[2] / "behavior_tests" / "otto_carmen.yaml"


@pytest.fixture
def demo() -> Agent:
    call_command("seed_demo")
    return Agent.objects.get(pk=DEMO_AGENT_ID)


def test_the_demo_suite_passes_with_reports(demo, tmp_path, capsys):
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    call_command("test_behavior", str(DEMO_SUITE), "--junit", str(junit), "--json", str(report))
    output = capsys.readouterr().out
    assert "0 failed, 0 error(s)" in output
    data = json.loads(report.read_text())
    assert data["ok"] is True
    counts = data["suites"][0]["counts"]
    assert counts["passed"] == len(load_suite_text(DEMO_SUITE.read_text(), source="x").tests)
    assert 'failures="0"' in junit.read_text()
    # The criterion cannot be judged by the local provider: skipped, and said so.
    assert "<skipped" in junit.read_text()
    assert not Session.objects.exists()
    assert not Event.objects.exists()
    assert not Turn.objects.exists()


def test_a_failing_test_makes_the_command_fail_and_k_selects(demo, tmp_path, capsys):
    suite = tmp_path / "broken.yaml"
    suite.write_text(
        f"""
agent: {DEMO_AGENT_ID}
tests:
  - name: greeting mentions coffee
    message: Hello there!
    expect: {{reply_contains: [coffee], guidelines_matched: [the customer greets you]}}
  - name: financing
    message: Do you offer financing?
    expect: {{reply_contains: ["3.9%"]}}
"""
    )
    with pytest.raises(CommandError) as failed:
        call_command("test_behavior", str(suite))
    assert failed.value.returncode == 1
    output = capsys.readouterr().out
    assert "FAILED  greeting mentions coffee" in output
    assert "reply contains: expected 'coffee'" in output
    call_command("test_behavior", str(suite), "-k", "financing")
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_an_invalid_file_exits_with_status_two(tmp_path, capsys):
    suite = tmp_path / "invalid.yaml"
    suite.write_text("agent: a\ntests: [{name: t, expect: {no_reply: true}}]\n")
    with pytest.raises(CommandError) as failed:
        call_command("test_behavior", str(suite))
    assert failed.value.returncode == 2
    assert f"{suite}: test 't'.message: expected a non-empty text" in capsys.readouterr().err


def test_inline_behaviour_runs_in_a_throwaway_agent_and_leaves_no_trace(demo):
    document = behavior_export(agent_id=DEMO_AGENT_ID)
    greeting = next(
        g for g in document["guidelines"] if g["condition"] == "the customer greets you"
    )
    greeting["action"] = "offer a cup of coffee"
    # Without a language model the agent says only approved text: the greeting's text changes too.
    welcome = next(c for c in document["canned_responses"] if "refreshing drink" in c["value"])
    welcome["value"] = welcome["value"].replace("a refreshing drink", "a cup of coffee")
    guidelines_before = list(Guideline.objects.values_list("id", "action").order_by("id"))
    agents_before = list(Agent.objects.values_list("id", flat=True))
    canned_before = list(CannedResponse.objects.values_list("id", "value").order_by("id"))
    suite = load_suite_text(
        json.dumps(
            {
                "behavior": document,
                "tests": [
                    {
                        "name": "coffee",
                        "message": "Hello!",
                        "expect": {"reply_contains": ["coffee"]},
                    },
                    {
                        "name": "ended",
                        "message": "Hello!",
                        "expect": {"journey": {"journey": "Schedule a test drive", "ended": True}},
                    },
                ],
            }
        ),
        source="inline.json",
    )
    result = run_suite(suite)
    assert not result.error, result.error
    by_name = {r.name: r for r in result.results}
    assert by_name["coffee"].status == "passed", by_name["coffee"].as_dict()
    assert by_name["ended"].status == "failed"
    assert by_name["ended"].failures[0].actual == "not active"
    assert list(Guideline.objects.values_list("id", "action").order_by("id")) == guidelines_before
    assert list(Agent.objects.values_list("id", flat=True)) == agents_before
    assert list(CannedResponse.objects.values_list("id", "value").order_by("id")) == canned_before


def test_an_unknown_reference_is_an_error_naming_it(demo):
    suite = load_suite_text(
        f"agent: {DEMO_AGENT_ID}\ntests: [{{name: t, message: hi, expect: "
        "{guidelines_matched: [the customer sings]}}]",
        source="s.yaml",
    )
    (result,) = run_suite(suite).results
    assert result.status == "error"
    assert "no guideline with id or condition 'the customer sings'" in result.error


def test_a_run_on_an_older_version_uses_the_behaviour_of_then(demo):
    greeting = Guideline.objects.get(
        tags__id=f"agent:{DEMO_AGENT_ID}", condition="the customer greets you"
    )
    with history.revision("greeting as it was"):
        reversion.add_to_revision(greeting)
    before_change = current_revision_id()
    with history.revision("greeting changed"):
        # Guidelines match by meaning of their condition and examples: change both.
        greeting.condition = "the customer asks about trucks"
        greeting.examples = ["do you sell pickup trucks?"]
        greeting.save()
    suite = load_suite_text(
        f"agent: {DEMO_AGENT_ID}\ntests: [{{name: t, message: Hello there!, expect: "
        f"{{guidelines_matched: [{greeting.id}]}}}}]",
        source="s.yaml",
    )
    assert run_suite(suite).results[0].status == "failed"
    assert run_suite(suite, at_revision=before_change).results[0].status == "passed"
    greeting.refresh_from_db()
    assert greeting.condition == "the customer asks about trucks"
