"""System checks for who-may-do-what settings (ids parlant.E1xx / W1xx)."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string

from sessions_app.permissions import AuthorizationPolicy, DevelopmentAuthorizationPolicy


@register()
def check_authorization_policy(app_configs, **kwargs):
    path = settings.PARLANT_AUTHORIZATION_POLICY
    try:
        policy_class = import_string(path)
    except ImportError:
        return [Error(f"PARLANT_AUTHORIZATION_POLICY {path!r} cannot be imported.",
                      id="parlant.E101")]
    if not (isinstance(policy_class, type) and issubclass(policy_class, AuthorizationPolicy)):
        return [Error(f"PARLANT_AUTHORIZATION_POLICY {path!r} is not an AuthorizationPolicy.",
                      id="parlant.E102")]
    if not settings.DEBUG and issubclass(policy_class, DevelopmentAuthorizationPolicy):
        return [
            Error(
                "The development authorization policy lets anyone do anything; it is refused "
                "when DEBUG is off.",
                hint="Unset PARLANT_AUTHORIZATION_POLICY (the strict policy is the default) or "
                "name a production policy.",
                id="parlant.E103",
            )
        ]
    return []


@register(deploy=True)
def check_exposure(app_configs, **kwargs):
    warnings = []
    if settings.CORS_ALLOW_ALL_ORIGINS:
        warnings.append(
            Warning("CORS_ALLOW_ALL_ORIGINS is on: every site may call the API from a browser.",
                    hint="List the widget's sites in PARLANT_WIDGET_ORIGINS instead.",
                    id="parlant.W101")
        )
    if settings.PARLANT_JWT_SECRET and len(settings.PARLANT_JWT_SECRET) < 32:
        warnings.append(
            Warning("PARLANT_JWT_SECRET is shorter than 32 characters.", id="parlant.W102")
        )
    return warnings
