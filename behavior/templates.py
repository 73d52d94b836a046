"""Canned response templates: `{{field}}` placeholders, checked when a template is saved."""

import re

from django.core.exceptions import ValidationError

FIELD_PATTERN = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
STANDARD_FIELDS = ("std.customer.name", "std.agent.name")
_STANDARD_PREFIXES = ("std.customer.", "std.agent.", "std.variables.", "std.missing_params")


def template_fields(template: str) -> list[str]:
    """Field names in order of first use, e.g. ['std.customer.name', 'price']."""
    return list(dict.fromkeys(FIELD_PATTERN.findall(template)))


def check_template(template: str) -> None:
    """Refuse empty templates and malformed placeholders (unbalanced or invalid names)."""
    if not (template or "").strip():
        raise ValidationError({"value": "A canned response needs text."})
    leftover = FIELD_PATTERN.sub("", template)
    if "{{" in leftover or "}}" in leftover:
        raise ValidationError(
            {"value": "Placeholders are written {{name}} with letters, digits, _ and dots."}
        )


def is_standard_field(name: str) -> bool:
    return name.startswith(_STANDARD_PREFIXES)
