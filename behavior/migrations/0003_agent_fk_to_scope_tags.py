"""Move each guideline's agent foreign key into the agent's scope tag `agent:<agent id>`."""

from django.db import migrations


def agent_fk_to_tag(apps, schema_editor) -> None:
    Guideline = apps.get_model("behavior", "Guideline")
    Tag = apps.get_model("behavior", "Tag")
    for guideline in Guideline.objects.exclude(agent=None).iterator():
        tag_id = f"agent:{guideline.agent_id}"
        tag, _ = Tag.objects.get_or_create(
            pk=tag_id, defaults={"name": tag_id, "agent_id": guideline.agent_id}
        )
        guideline.tags.add(tag)


def tag_to_agent_fk(apps, schema_editor) -> None:
    Guideline = apps.get_model("behavior", "Guideline")
    for guideline in Guideline.objects.filter(tags__agent__isnull=False).distinct().iterator():
        tag = guideline.tags.filter(agent__isnull=False).first()
        guideline.agent_id = tag.agent_id
        guideline.save(update_fields=["agent"])
        guideline.tags.remove(tag)


class Migration(migrations.Migration):
    dependencies = [("behavior", "0002_authoring_building_blocks")]

    operations = [migrations.RunPython(agent_fk_to_tag, tag_to_agent_fk)]
