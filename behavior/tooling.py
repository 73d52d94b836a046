"""Gathers tools and retrievers from installed apps, and mirrors them into the database.

Every installed app may have a `tools.py` (functions decorated with engine.tools.tool) and a
`retrievers.py` (functions decorated with behavior.retrieval.retriever). They are imported once
at start-up, from BehaviorConfig.ready, so the registries are complete in every process.
"""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from behavior.models import Retriever, Tool, ToolService
from behavior.retrieval import retriever_registry
from engine.tools import RegisteredTool, default_registry

logger = logging.getLogger(__name__)


def discover() -> None:
    """Import `<app>.tools` and `<app>.retrievers` of every installed app (idempotent)."""
    autodiscover_modules("tools")
    autodiscover_modules("retrievers")


def service_name_for(registered: RegisteredTool) -> str:
    """Tools are grouped into services by the app (top-level package) that defines them."""
    return registered.service_name


def tool_parameters(registered: RegisteredTool) -> dict[str, dict[str, Any]]:
    """Parlant's wire shape for a tool's parameters: {name: {type, description, enum}}."""
    described: dict[str, dict[str, Any]] = {}
    for parameter in registered.parameters:
        spec: dict[str, Any] = {"type": parameter.type, "description": parameter.description}
        if parameter.enum:
            spec["enum"] = list(parameter.enum)
        if parameter.examples:
            spec["examples"] = list(parameter.examples)
        if parameter.item_type:
            spec["item_type"] = parameter.item_type
        if parameter.default is not None:
            spec["default"] = parameter.default
        described[parameter.name] = spec
    return described


@transaction.atomic
def tool_registry_sync() -> tuple[int, int]:
    """Mirror the code registries into Tool/ToolService/Retriever rows.

    Tools and retrievers no longer registered are kept (guidelines may still point at them) but
    marked unavailable, so the engine never receives them. Returns (tools, retrievers) synced.
    """
    now = timezone.now()
    names = default_registry.names
    for name in names:
        registered = default_registry.get(name)
        service_name = service_name_for(registered)
        service, _ = ToolService.objects.get_or_create(
            name=service_name,
            defaults={"kind": ToolService.Kind.SDK, "url": f"python:{service_name}"},
        )
        Tool.objects.update_or_create(
            pk=name,
            defaults={
                "service": service,
                "name": name,
                "description": registered.description,
                "parameters": tool_parameters(registered),
                "required": [p.name for p in registered.parameters if p.is_required],
                "is_consequential": registered.is_consequential,
                "is_available": True,
                "updated_at": now,
            },
        )
    Tool.objects.exclude(pk__in=names).update(is_available=False, updated_at=now)
    for name, function in retriever_registry.items():
        doc = (function.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        Retriever.objects.update_or_create(
            pk=name,
            defaults={
                "description": doc,
                "module": function.__module__,
                "is_available": True,
                "updated_at": now,
            },
        )
    Retriever.objects.exclude(pk__in=list(retriever_registry)).update(is_available=False)
    return len(names), len(retriever_registry)


def sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    """post_migrate hook: the tables exist now, so the mirror can be refreshed."""
    from django.db import connections

    connection = connections[kwargs.get("using", "default")]
    if Tool._meta.db_table not in connection.introspection.table_names():
        return  # migrated backwards past the tool tables
    synced_tools, synced_retrievers = tool_registry_sync()
    logger.info(
        "tool registry synced", extra={"tools": synced_tools, "retrievers": synced_retrievers}
    )
