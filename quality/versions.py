"""Behaviour versions for test runs: the history's revisions, and behaviour as it was at one.

A run is recorded against the newest revision of the behaviour history when it starts; running
"on an older version" rebuilds the behaviour as it stood at that revision inside a transaction
that is always rolled back, takes the engine snapshot, and leaves the live rows untouched.
"""

from collections import defaultdict

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from reversion.models import Revision, Version

BEHAVIOR_APP = "behavior"


def current_revision_id() -> int | None:
    """The newest revision of any authored behaviour (None before the first change)."""
    return Revision.objects.order_by("-pk").values_list("pk", flat=True).first()


def behavior_revert_to(revision_id: int) -> None:
    """Make the behaviour rows what they were at `revision_id`. Call only inside a transaction
    that will be rolled back: this writes to live tables.

    Rows changed later get their version at the revision back, rows created later are deleted,
    rows deleted later come back. Rows no revision ever recorded are left as they are.
    """
    content_types = ContentType.objects.filter(app_label=BEHAVIOR_APP)
    versions = Version.objects.filter(content_type__in=content_types).order_by("pk")
    latest_then: dict[tuple[int, str], Version] = {}
    changed_later: set[tuple[int, str]] = set()
    for version in versions.select_related("content_type"):
        key = (version.content_type_id, version.object_id)
        if version.revision_id <= revision_id:
            latest_then[key] = version
        else:
            changed_later.add(key)

    by_model: dict[int, set[str]] = defaultdict(set)
    for content_type_id, object_id in changed_later - latest_then.keys():
        by_model[content_type_id].add(object_id)
    for content_type_id, object_ids in by_model.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is not None:
            model._base_manager.filter(pk__in=object_ids).delete()

    existing: set[tuple[int, str]] = set()
    keys_by_model: dict[int, list[str]] = defaultdict(list)
    for content_type_id, object_id in latest_then:
        keys_by_model[content_type_id].append(object_id)
    for content_type_id, object_ids in keys_by_model.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            continue
        pk_field = model._meta.pk
        typed = [pk_field.to_python(object_id) for object_id in object_ids]
        for pk in model._base_manager.filter(pk__in=typed).values_list("pk", flat=True):
            existing.add((content_type_id, str(pk)))
    to_restore = [
        version
        for key, version in latest_then.items()
        if key in changed_later or key not in existing
    ]
    _revert_in_dependency_order(to_restore)


def _revert_in_dependency_order(versions: list[Version]) -> None:
    """Revert each version, retrying those whose foreign keys point at rows not yet restored
    (a journey's states before the journey): each attempt in its own savepoint."""
    pending = versions
    while pending:
        failed = []
        for version in pending:
            try:
                with transaction.atomic():
                    version.revert()
            except IntegrityError:
                failed.append(version)
        if len(failed) == len(pending):
            return  # what remains refers to rows that no revision recorded; leave it
        pending = failed


def revision_label(revision_id: int | None) -> str:
    if revision_id is None:
        return "before any recorded change"
    revision = Revision.objects.filter(pk=revision_id).first()
    if revision is None:
        return f"revision #{revision_id}"
    comment = f": {revision.comment}" if revision.comment else ""
    return f"revision #{revision.pk} of {revision.date_created:%Y-%m-%d %H:%M}{comment}"
