"""What importing a behaviour document would change, section by section, before anything does."""

from typing import Any

from behavior.models import Agent
from behavior.transfer import behavior_export

# How a person recognises an item of each section (its ids mean nothing to them).
SECTIONS: dict[str, tuple[str, Any]] = {
    "guidelines": (
        "Guidelines",
        lambda item: f"When {item.get('condition', '')}"
        + (f", then {item['action']}" if item.get("action") else ""),
    ),
    "journeys": ("Journeys", lambda item: item.get("title", "")),
    "relationships": ("Relationships", lambda item: item.get("kind", "relationship")),
    "terms": ("Glossary terms", lambda item: item.get("name", "")),
    "variables": ("Context variables", lambda item: item.get("name", "")),
    "canned_responses": ("Canned responses", lambda item: item.get("value", "")),
    "capabilities": ("Capabilities", lambda item: item.get("title", "")),
}


def _by_id(items: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(item.get("id")): item for item in items if isinstance(item, dict)}


def import_preview(document: dict[str, Any]) -> dict[str, Any]:
    """Added, changed and removed items per section, compared with the agent as it is now."""
    agent_id = str(document.get("agent", {}).get("id", ""))
    exists = Agent.objects.filter(pk=agent_id).exists()
    current = behavior_export(agent_id=agent_id) if exists else {}
    sections = []
    for key, (title, label) in SECTIONS.items():
        before = _by_id(current.get(key, []))
        after = _by_id(document.get(key, []))
        added = [label(item) for item_id, item in after.items() if item_id not in before]
        removed = [label(item) for item_id, item in before.items() if item_id not in after]
        changed = [
            label(item)
            for item_id, item in after.items()
            if item_id in before and before[item_id] != item
        ]
        unchanged = len(after) - len(added) - len(changed)
        if added or removed or changed or unchanged:
            sections.append(
                {"title": title, "added": added, "changed": changed, "removed": removed,
                 "unchanged": unchanged}
            )
    agent_before = current.get("agent", {})
    agent_after = document.get("agent", {})
    return {
        "agent_id": agent_id,
        "agent_name": agent_after.get("name", agent_id),
        "exists": exists,
        "agent_changes": sorted(
            key for key in set(agent_before) | set(agent_after)
            if exists and agent_before.get(key) != agent_after.get(key)
        ),
        "sections": sections,
        "has_changes": not exists or any(
            section["added"] or section["changed"] or section["removed"] for section in sections
        ),
    }
