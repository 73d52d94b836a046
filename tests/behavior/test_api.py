"""Authoring resources on Parlant's REST paths, in process: shapes, filters and error answers."""

import pytest
from reversion.models import Version

from behavior import services
from behavior.models import Guideline, Journey, Relationship, Tag
from behavior.snapshot import to_relationship
from tests.builders import make_agent, make_customer

pytestmark = pytest.mark.django_db


def test_tags_create_list_rename_and_delete(api_client):
    created = api_client.post("/tags", {"name": "vip"}, format="json")
    assert created.status_code == 201
    tag = created.json()
    assert set(tag) == {"id", "name"}

    assert api_client.get("/tags").json() == [tag]
    assert api_client.get("/tags", {"name": "other"}).json() == []
    assert api_client.patch(f"/tags/{tag['id']}", {"name": "gold"}, format="json").json() == {
        "id": tag["id"],
        "name": "gold",
    }
    assert api_client.delete(f"/tags/{tag['id']}").status_code == 204
    assert api_client.get(f"/tags/{tag['id']}").status_code == 404


def test_tag_names_are_unique_and_scope_prefixes_are_reserved(api_client):
    api_client.post("/tags", {"name": "vip"}, format="json")
    duplicate = api_client.post("/tags", {"name": "vip"}, format="json")
    reserved = api_client.post("/tags", {"name": "agent:x"}, format="json")
    assert (duplicate.status_code, reserved.status_code) == (422, 422)
    assert "already exists" in duplicate.json()["detail"]


def test_scope_tags_are_not_listed_as_tags(api_client):
    agent = make_agent()
    services.agent_scope_tag(agent.id)
    assert api_client.get("/tags").json() == []


def test_guideline_round_trip_with_parlant_fields(api_client):
    agent = make_agent()
    response = api_client.post(
        "/guidelines",
        {
            "condition": "the customer greets you",
            "action": "offer a drink",
            "criticality": "high",
            "metadata": {"source": "test"},
            "tags": [f"agent:{agent.id}"],
            "labels": ["vip"],
            "priority": 2,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "condition": "the customer greets you",
        "action": "offer a drink",
        "description": None,
        "examples": [],
        "criticality": "high",
        "enabled": True,
        "tags": [f"agent:{agent.id}"],
        "metadata": {"source": "test"},
        "composition_mode": None,
        "track": True,
        "labels": ["vip"],
        "priority": 2,
    }
    assert Guideline.objects.get(pk=body["id"]).condition_embedding  # embedded on save

    detail = api_client.get(f"/guidelines/{body['id']}").json()
    assert detail == {"guideline": body, "relationships": [], "tool_associations": []}


def test_guideline_example_messages_are_set_replaced_and_validated(api_client):
    created = api_client.post(
        "/guidelines",
        {
            "condition": "the customer's card was retained by an ATM",
            "action": "explain how to get it back",
            "examples": ["the machine ate my card", " the machine ate my card ", ""],
        },
        format="json",
    ).json()
    assert created["examples"] == ["the machine ate my card"]

    path = f"/guidelines/{created['id']}"
    renamed = api_client.patch(path, {"examples": ["my plastic got swallowed"]}, format="json")
    assert renamed.json()["guideline"]["examples"] == ["my plastic got swallowed"]
    untouched = api_client.patch(path, {"action": "say sorry"}, format="json")
    assert untouched.json()["guideline"]["examples"] == ["my plastic got swallowed"]
    refused = api_client.patch(path, {"examples": "not a list"}, format="json")
    assert refused.status_code == 422, refused.json()
    assert Guideline.objects.get(pk=created["id"]).examples == ["my plastic got swallowed"]


def test_guideline_update_changes_tools_tags_metadata_and_labels(api_client):
    vip = services.tag_create(name="vip")
    guideline = services.guideline_create(condition="asks the hours", metadata={"a": 1, "b": 2})
    response = api_client.patch(
        f"/guidelines/{guideline.id}",
        {
            "action": "tell the hours",
            "tool_associations": {
                "add": [{"service_name": "behavior", "tool_name": "get_opening_hours"}]
            },
            "tags": {"add": [vip.id]},
            "metadata": {"set": {"c": 3}, "unset": ["a"]},
            "labels": {"upsert": ["x", "y"], "remove": ["y"]},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["guideline"]["action"] == "tell the hours"
    assert body["guideline"]["tags"] == [vip.id]
    assert body["guideline"]["metadata"] == {"b": 2, "c": 3}
    assert body["guideline"]["labels"] == ["x"]
    (association,) = body["tool_associations"]
    assert association["tool_id"] == {"service_name": "behavior", "tool_name": "get_opening_hours"}
    assert association["guideline_id"] == guideline.id

    removed = api_client.patch(
        f"/guidelines/{guideline.id}",
        {
            "tool_associations": {
                "remove": [{"service_name": "behavior", "tool_name": "get_opening_hours"}]
            }
        },
        format="json",
    )
    assert removed.json()["tool_associations"] == []


def test_guideline_list_filters_by_tag(api_client):
    agent = make_agent()
    mine = services.guideline_create(condition="mine", tag_ids=[f"agent:{agent.id}"])
    services.guideline_create(condition="global")
    listed = api_client.get("/guidelines", {"tag_id": f"agent:{agent.id}"}).json()
    assert [g["id"] for g in listed] == [mine.id]
    assert len(api_client.get("/guidelines").json()) == 2


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"condition": ""}, "condition"),
        ({"condition": "c", "criticality": "urgent"}, "criticality"),
        ({"condition": "c", "tags": ["no-such-tag"]}, "Unknown tag"),
        ({"condition": "c", "tags": ["agent:no-such-agent"]}, "Unknown tag"),
        ({"action": "no condition"}, "condition"),
    ],
)
def test_invalid_guidelines_answer_422_with_a_message(api_client, payload, message):
    response = api_client.post("/guidelines", payload, format="json")
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert not Guideline.objects.exists()


def test_unknown_tools_are_refused(api_client):
    guideline = services.guideline_create(condition="c")
    response = api_client.patch(
        f"/guidelines/{guideline.id}",
        {"tool_associations": {"add": [{"service_name": "x", "tool_name": "nope"}]}},
        format="json",
    )
    assert response.status_code == 422
    assert "Unknown tool" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/guidelines/nope",
        "/journeys/nope",
        "/terms/nope",
        "/context-variables/nope",
        "/canned_responses/nope",
        "/capabilities/nope",
        "/relationships/nope",
        "/tags/nope",
        "/services/nope",
        "/journeys/nope/mermaid",
        "/agents/nope",
    ],
)
def test_unknown_ids_answer_404(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert "detail" in response.json()


def test_relationships_between_guidelines_tags_journeys_and_tools(api_client):
    first = services.guideline_create(condition="first")
    second = services.guideline_create(condition="second")
    vip = services.tag_create(name="vip")
    journey = services.journey_create(title="J", conditions=["c"])

    priority = api_client.post(
        "/relationships",
        {"kind": "priority", "source_guideline": first.id, "target_guideline": second.id},
        format="json",
    )
    assert priority.status_code == 201, priority.json()
    body = priority.json()
    assert body["source_guideline"]["id"] == first.id
    assert body["target_guideline"]["condition"] == "second"
    assert body["source_tag"] is None
    assert body["target_tool"] is None

    by_tag = api_client.post(
        "/relationships",
        {"kind": "entailment", "source_tag": vip.id, "target_tag": f"journey:{journey.id}"},
        format="json",
    ).json()
    assert by_tag["target_tag"] == {"id": f"journey:{journey.id}", "name": f"journey:{journey.id}"}

    tool = api_client.post(
        "/relationships",
        {
            "kind": "reevaluation",
            "source_guideline": first.id,
            "target_tool": {"service_name": "behavior", "tool_name": "get_opening_hours"},
        },
        format="json",
    ).json()
    assert tool["target_tool"]["name"] == "get_opening_hours"
    assert set(tool["target_tool"]) == {
        "creation_utc",
        "name",
        "description",
        "parameters",
        "required",
    }

    listed = api_client.get("/relationships", {"guideline_id": first.id}).json()
    assert {r["id"] for r in listed} == {body["id"], tool["id"]}
    assert [r["id"] for r in api_client.get("/relationships", {"kind": "entailment"}).json()] == [
        by_tag["id"]
    ]
    assert [
        r["id"]
        for r in api_client.get("/relationships", {"tool_id": "behavior:get_opening_hours"}).json()
    ] == [tool["id"]]

    detail = api_client.get(f"/guidelines/{second.id}").json()
    assert [r["id"] for r in detail["relationships"]] == [body["id"]]

    assert api_client.delete(f"/relationships/{body['id']}").status_code == 204


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "priority", "source_guideline": "a"},
        {"kind": "priority", "target_guideline": "a"},
        {"kind": "priority", "source_guideline": "a", "source_tag": "b", "target_guideline": "a"},
        {"kind": "sometimes", "source_guideline": "a", "target_guideline": "b"},
    ],
)
def test_relationships_need_exactly_one_source_and_target(api_client, payload):
    response = api_client.post("/relationships", payload, format="json")
    assert response.status_code == 422


def test_a_guideline_cannot_relate_to_itself(api_client):
    guideline = services.guideline_create(condition="c")
    response = api_client.post(
        "/relationships",
        {"kind": "priority", "source_guideline": guideline.id, "target_guideline": guideline.id},
        format="json",
    )
    assert response.status_code == 422


def test_journeys_store_conditions_as_observation_guidelines(api_client):
    agent = make_agent()
    created = api_client.post(
        "/journeys",
        {
            "title": "Test drive",
            "description": "book one",
            "conditions": ["wants a drive"],
            "tags": [f"agent:{agent.id}"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    journey = created.json()
    (condition_id,) = journey["conditions"]
    condition = Guideline.objects.get(pk=condition_id)
    assert (condition.condition, condition.action) == ("wants a drive", "")
    assert list(condition.tags.values_list("pk", flat=True)) == [f"journey:{journey['id']}"]

    extra = services.guideline_create(condition="asks for a drive")
    updated = api_client.patch(
        f"/journeys/{journey['id']}",
        {
            "title": "Book a test drive",
            "conditions": {"add": [extra.id], "remove": [condition_id]},
            "labels": {"upsert": ["sales"]},
        },
        format="json",
    ).json()
    assert updated["title"] == "Book a test drive"
    assert updated["conditions"] == [extra.id]
    assert updated["labels"] == ["sales"]
    assert [
        j["id"] for j in api_client.get("/journeys", {"tag_id": f"agent:{agent.id}"}).json()
    ] == [journey["id"]]

    assert api_client.delete(f"/journeys/{journey['id']}").status_code == 204
    assert not Journey.objects.exists()
    assert not Tag.objects.filter(pk=f"journey:{journey['id']}").exists()


def test_journey_mermaid_is_a_state_diagram_with_escaped_labels(api_client):
    journey = services.journey_create(title="J", conditions=["c"])
    ask = services.journey_state_create(journey=journey, kind="chat", action='say "hi" <b>')
    services.journey_transition_create(source=services.journey_initial_state(journey), target=ask)
    services.journey_transition_create(
        source=ask, target=services.journey_end_state(journey), condition="done"
    )

    response = api_client.get(f"/journeys/{journey.id}/mermaid")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert text.splitlines()[0] == "stateDiagram-v2"
    assert "[*] --> N0" in text
    assert "N0 --> [*]: done" in text
    assert 'state "say &quot;hi&quot; &lt;b&gt;" as N0' in text


def test_terms_round_trip_and_filter(api_client):
    vip = services.tag_create(name="vip")
    created = api_client.post(
        "/terms",
        {"name": "APR", "description": "rate", "synonyms": ["interest"], "tags": [vip.id]},
        format="json",
    )
    assert created.status_code == 201
    term = created.json()
    assert term == {
        "id": term["id"],
        "name": "APR",
        "description": "rate",
        "synonyms": ["interest"],
        "tags": [vip.id],
    }
    updated = api_client.patch(
        f"/terms/{term['id']}",
        {"synonyms": ["rate"], "tags": {"remove": [vip.id]}},
        format="json",
    ).json()
    assert (updated["synonyms"], updated["tags"]) == (["rate"], [])
    assert api_client.get("/terms", {"tag_id": vip.id}).json() == []


def test_context_variables_and_values_by_key(api_client):
    customer = make_customer()
    gold = services.tag_create(name="gold")
    agent = make_agent()
    created = api_client.post(
        "/context-variables",
        {
            "name": "plan",
            "description": "the plan",
            "tool_id": {"service_name": "behavior", "tool_name": "get_opening_hours"},
            "freshness_rules": "0 * * * *",
            "tags": [f"agent:{agent.id}"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    variable = created.json()
    assert variable["tool_id"] == {"service_name": "behavior", "tool_name": "get_opening_hours"}
    base = f"/context-variables/{variable['id']}"

    for key, data in [
        (customer.id, {"tier": 1}),
        (f"tag:{gold.id}", "gold"),
        ("DEFAULT", "basic"),
        (f"agent:{agent.id}", "agent"),
    ]:
        stored = api_client.put(f"{base}/{key}", {"data": data}, format="json")
        assert stored.status_code == 200, stored.json()
        assert set(stored.json()) == {"id", "last_modified", "data"}
        assert api_client.get(f"{base}/{key}").json()["data"] == data

    read = api_client.get(base).json()
    assert read["context_variable"]["id"] == variable["id"]
    assert set(read["key_value_pairs"]) == {
        customer.id,
        f"tag:{gold.id}",
        "DEFAULT",
        f"agent:{agent.id}",
    }
    assert api_client.get(base, {"include_values": "false"}).json()["key_value_pairs"] is None

    assert api_client.delete(f"{base}/{customer.id}").status_code == 204
    assert api_client.get(f"{base}/{customer.id}").status_code == 404
    assert api_client.delete(f"{base}/{customer.id}").status_code == 404
    assert api_client.put(f"{base}/no-such-customer", {"data": 1}, format="json").status_code == 404

    updated = api_client.patch(base, {"tool_id": None, "freshness_rules": ""}, format="json")
    assert updated.json()["tool_id"] is None
    assert updated.json()["freshness_rules"] is None


def test_bad_freshness_rules_answer_422(api_client):
    response = api_client.post(
        "/context-variables", {"name": "x", "freshness_rules": "every hour"}, format="json"
    )
    assert response.status_code == 422
    assert "cron" in response.json()["detail"]


def test_context_variables_delete_many_by_tag(api_client):
    vip = services.tag_create(name="vip")
    services.variable_create(name="tagged", tag_ids=[vip.id])
    kept = services.variable_create(name="untagged")
    assert api_client.delete(f"/context-variables?tag_id={vip.id}").status_code == 204
    assert [v["id"] for v in api_client.get("/context-variables").json()] == [kept.id]


def test_canned_responses_round_trip_and_filter_by_any_tag(api_client):
    vip, gold = services.tag_create(name="vip"), services.tag_create(name="gold")
    created = api_client.post(
        "/canned_responses",
        {
            "value": "Hello {{std.customer.name}}",
            "signals": ["hi"],
            "tags": [vip.id],
            "fields": [{"name": "std.customer.name", "description": "name", "examples": ["Dana"]}],
            "metadata": {"k": "v"},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    canned = created.json()
    assert set(canned) == {
        "id",
        "creation_utc",
        "value",
        "fields",
        "tags",
        "signals",
        "metadata",
        "field_dependencies",
    }
    services.canned_response_create(value="Other", tag_ids=[gold.id])
    listed = api_client.get(f"/canned_responses?tags={vip.id}&tags=nope").json()
    assert [c["id"] for c in listed] == [canned["id"]]
    assert len(api_client.get(f"/canned_responses?tags={vip.id}&tags={gold.id}").json()) == 2

    updated = api_client.patch(
        f"/canned_responses/{canned['id']}",
        {"value": "Hi {{std.customer.name}}!", "metadata": {"unset": ["k"]}},
        format="json",
    ).json()
    assert (updated["value"], updated["metadata"]) == ("Hi {{std.customer.name}}!", {})


def test_malformed_templates_answer_422(api_client):
    response = api_client.post("/canned_responses", {"value": "Hello {{ name"}, format="json")
    assert response.status_code == 422


def test_capabilities_round_trip(api_client):
    created = api_client.post(
        "/capabilities",
        {"title": "Book drives", "description": "d", "signals": ["book"]},
        format="json",
    )
    assert created.status_code == 201
    capability = created.json()
    assert capability["tags"] == []
    updated = api_client.patch(
        f"/capabilities/{capability['id']}", {"title": "Book test drives"}, format="json"
    ).json()
    assert updated["title"] == "Book test drives"
    assert api_client.delete(f"/capabilities/{capability['id']}").status_code == 204


def test_services_list_code_tools_and_refuse_remote_registration(api_client):
    services_listed = api_client.get("/services").json()
    assert {"name": "behavior", "kind": "sdk", "url": "python:behavior"} in services_listed
    detail = api_client.get("/services/behavior").json()
    names = {tool["name"] for tool in detail["tools"]}
    assert {"check_test_drive_availability", "get_opening_hours"} <= names
    refused = api_client.put("/services/remote", {"kind": "openapi"}, format="json")
    assert refused.status_code == 422
    assert api_client.delete("/services/behavior").status_code == 422


def test_agents_update_tags_with_add_and_remove(api_client):
    vip = services.tag_create(name="vip")
    agent = api_client.post("/agents", {"name": "Otto", "tags": [vip.id]}, format="json").json()
    assert agent["tags"] == [vip.id]
    updated = api_client.patch(
        f"/agents/{agent['id']}", {"name": "Otto C", "tags": {"remove": [vip.id]}}, format="json"
    ).json()
    assert (updated["name"], updated["tags"]) == ("Otto C", [])


def test_api_writes_are_kept_in_the_change_history(api_client):
    created = api_client.post("/guidelines", {"condition": "c", "action": "a"}, format="json")
    guideline_id = created.json()["id"]
    api_client.patch(f"/guidelines/{guideline_id}", {"action": "b"}, format="json")
    guideline = Guideline.objects.get(pk=guideline_id)
    versions = Version.objects.get_for_object(guideline)
    assert [v.field_dict["action"] for v in versions] == ["b", "a"]
    assert versions[0].revision.comment.startswith("API: update guideline")


@pytest.mark.parametrize(
    "path",
    [
        "/guidelines",
        "/relationships",
        "/journeys",
        "/terms",
        "/context-variables",
        "/canned_responses",
        "/capabilities",
        "/tags",
        "/agents",
        "/services",
    ],
)
def test_listings_cost_the_same_queries_for_many_rows(api_client, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(count: int) -> None:
        for _ in range(count):
            agent = make_agent()
            tag = services.tag_create(name=f"t-{agent.id}")
            first = services.guideline_create(
                condition="c", tag_ids=[tag.id, f"agent:{agent.id}"], tool_ids=["get_opening_hours"]
            )
            second = services.guideline_create(condition="d", tag_ids=[tag.id])
            services.relationship_create(
                kind="priority",
                source=services.Endpoint(guideline_id=first.id),
                target=services.Endpoint(guideline_id=second.id),
            )
            services.journey_create(title="J", conditions=["a", "b"], tag_ids=[tag.id])
            services.term_create(name="T", description="d", tag_ids=[tag.id])
            services.variable_create(name="V", tool_id="get_opening_hours", tag_ids=[tag.id])
            services.canned_response_create(value="Hi", tag_ids=[tag.id])
            services.capability_create(title="C", description="d", tag_ids=[tag.id])

    add(1)
    with CaptureQueriesContext(connection) as few:
        assert api_client.get(path).status_code == 200
    add(5)
    with CaptureQueriesContext(connection) as many:
        assert api_client.get(path).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_dependency_any_groups_are_explicit_and_reach_the_engine(api_client):
    source, a, b, c = (services.guideline_create(condition=f"c{n}") for n in range(4))

    def create(target, group):
        return api_client.post(
            "/relationships",
            {
                "kind": "dependency_any",
                "source_guideline": source.id,
                "target_guideline": target.id,
                "group_id": group,
            },
            format="json",
        )

    created = [create(a, "payment"), create(b, "payment"), create(c, "identity")]
    assert [r.status_code for r in created] == [201, 201, 201]
    assert [r.json()["group_id"] for r in created] == ["payment", "payment", "identity"]
    assert create(a, "payment").status_code == 422
    misplaced = api_client.post(
        "/relationships",
        {
            "kind": "priority",
            "source_guideline": source.id,
            "target_guideline": a.id,
            "group_id": "payment",
        },
        format="json",
    )
    assert misplaced.status_code == 422
    assert "group" in misplaced.json()["detail"]

    groups = sorted(
        (r.group_id, r.target.id)
        for r in map(to_relationship, Relationship.objects.filter(kind="dependency_any"))
    )
    assert groups == sorted([("payment", a.id), ("payment", b.id), ("identity", c.id)])
