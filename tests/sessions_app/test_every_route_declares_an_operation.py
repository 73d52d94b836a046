"""Every API action names the operation the authorization policy decides on.

An undeclared action is admin-only under the strict policy, which silently breaks clients; this
walks the URL configuration so a new endpoint cannot ship without a declaration.
"""

from django.urls import URLPattern, URLResolver, get_resolver


def api_views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("admin"):
                continue
            yield from api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)
            actions = getattr(pattern.callback, "actions", None)
            if view_class is not None and actions:
                yield prefix + str(pattern.pattern), view_class, actions


def test_every_viewset_action_declares_its_operation():
    undeclared = []
    routes = list(api_views(get_resolver().url_patterns))
    assert len(routes) > 20
    for route, view_class, actions in routes:
        operations = getattr(view_class, "operations", {})
        for method, action in actions.items():
            if method not in view_class.http_method_names:
                continue  # answered 405 before any permission check
            if action not in operations and method not in operations:
                undeclared.append(f"{method.upper()} {route} ({view_class.__name__}.{action})")
    assert undeclared == []
