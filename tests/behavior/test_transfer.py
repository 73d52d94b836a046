"""An agent's behaviour as one document: export, import into an empty database, same behaviour."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from behavior import services
from behavior.management.commands.seed_demo import DEMO_AGENT_ID
from behavior.models import Agent, Guideline, Journey, Relationship, Tag
from behavior.snapshot import agent_snapshot
from behavior.transfer import behavior_export, behavior_import, dump_document, load_document
from sessions_app.models import Customer

pytestmark = pytest.mark.django_db


def wipe_behaviour() -> None:
    """An empty database, as far as behaviour goes (the tool mirror stays: it comes from code)."""
    for model in (Relationship, Journey, Guideline, Agent, Tag):
        model.objects.all().delete()
    from behavior.models import CannedResponse, Capability, ContextVariable, GlossaryTerm

    for model in (CannedResponse, Capability, ContextVariable, GlossaryTerm):
        model.objects.all().delete()


@pytest.mark.parametrize("as_json", [False, True])
def test_the_demo_survives_a_round_trip_into_an_empty_database(as_json):
    call_command("seed_demo")
    vip = services.tag_create(name="vip")
    Agent.objects.get(pk=DEMO_AGENT_ID).tags.add(vip)
    services.term_create(name="Loyalty", description="points", tag_ids=[vip.id])
    before = agent_snapshot(DEMO_AGENT_ID)
    text = dump_document(behavior_export(agent_id=DEMO_AGENT_ID), as_json=as_json)

    wipe_behaviour()
    agent = behavior_import(document=load_document(text))

    after = agent_snapshot(agent.id)
    assert after == before
    assert after.version == before.version
    assert dump_document(behavior_export(agent_id=agent.id), as_json=as_json) == text


def test_example_messages_survive_export_and_import():
    call_command("seed_demo")
    row = Guideline.objects.filter(tags=f"agent:{DEMO_AGENT_ID}").exclude(action="").first()
    services.guideline_update(guideline=row, fields={"examples": ["hey there", "hello!"]})
    journey = Journey.objects.filter(tags=f"agent:{DEMO_AGENT_ID}").first()
    condition = journey.conditions.first()
    services.guideline_update(guideline=condition, fields={"examples": ["can I try the car?"]})
    document = behavior_export(agent_id=DEMO_AGENT_ID)

    wipe_behaviour()
    behavior_import(document=load_document(dump_document(document, as_json=False)))

    assert Guideline.objects.get(pk=row.pk).examples == ["hey there", "hello!"]
    assert Guideline.objects.get(pk=condition.pk).examples == ["can I try the car?"]


def test_importing_twice_is_a_no_op_and_dropped_entities_are_deleted():
    call_command("seed_demo")
    document = behavior_export(agent_id=DEMO_AGENT_ID)
    behavior_import(document=document)
    version = agent_snapshot(DEMO_AGENT_ID).version
    behavior_import(document=document)
    assert agent_snapshot(DEMO_AGENT_ID).version == version

    document["guidelines"] = [
        g for g in document["guidelines"] if g["condition"] != "the customer says goodbye"
    ]
    behavior_import(document=document)
    assert not Guideline.objects.filter(condition="the customer says goodbye").exists()


def test_per_customer_values_stay_out_of_the_document():
    customer = Customer.objects.create(name="Dana")
    agent = services.agent_create(name="A", agent_id="a")
    variable = services.variable_create(name="plan", tag_ids=["agent:a"])
    services.variable_value_set(variable_id=variable.id, key=services.ValueKey(), data="basic")
    services.variable_value_set(
        variable_id=variable.id, key=services.ValueKey(customer_id=customer.id), data="gold"
    )
    (exported,) = behavior_export(agent_id=agent.id)["variables"]
    assert exported["values"] == [{"key": "DEFAULT", "data": "basic"}]


def test_documents_with_unknown_tools_are_refused_whole():
    call_command("seed_demo")
    document = behavior_export(agent_id=DEMO_AGENT_ID)
    wipe_behaviour()
    document["guidelines"][0]["tools"] = ["no_such_tool"]
    with pytest.raises(services.ValidationError):
        behavior_import(document=document)
    assert not Agent.objects.exists()


@pytest.mark.parametrize("text", ["[1, 2]", "format: other\nversion: 1", "{{{", "version: 1"])
def test_other_documents_are_not_loaded(text):
    with pytest.raises(ValueError, match="document"):
        load_document(text)


def test_management_commands_export_and_import(tmp_path):
    call_command("seed_demo")
    path = tmp_path / "otto.json"
    call_command(
        "export_behavior", DEMO_AGENT_ID, output=str(path), json=True, stderr=io.StringIO()
    )
    assert json.loads(path.read_text())["agent"]["id"] == DEMO_AGENT_ID
    version = agent_snapshot(DEMO_AGENT_ID).version

    wipe_behaviour()
    out = io.StringIO()
    call_command("import_behavior", str(path), stdout=out)
    assert "Otto Carmen" in out.getvalue()
    assert agent_snapshot(DEMO_AGENT_ID).version == version

    with pytest.raises(CommandError, match="No agent"):
        call_command("export_behavior", "nobody")
    (tmp_path / "bad.yaml").write_text("nothing: here")
    with pytest.raises(CommandError, match="Not a behaviour document"):
        call_command("import_behavior", str(tmp_path / "bad.yaml"))
