"""System checks that refuse misconfiguration loudly at start-up (ids parlant.E00x)."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_nlp_provider(app_configs, **kwargs):
    errors = []
    provider = settings.PARLANT_NLP_PROVIDER
    if provider not in {"local", "openai"} and "." not in provider:
        errors.append(
            Error(
                f"PARLANT_NLP_PROVIDER is {provider!r}",
                hint="Use 'local' (embedded, no key), 'openai' (OpenAI or a compatible server) "
                "or the dotted path of a class implementing engine.ports.NLPService.",
                id="parlant.E001",
            )
        )
    if provider == "openai" and not (settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL):
        errors.append(
            Error(
                "The OpenAI provider needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server).",
                id="parlant.E002",
            )
        )
    return errors


@register(deploy=True)
def check_distributed_services(app_configs, **kwargs):
    warnings = []
    if not settings.REDIS_URL:
        warnings.append(
            Warning(
                "REDIS_URL is not set: events travel on the in-memory channel layer and turns run "
                "in-process, so only one server process can serve sessions.",
                id="parlant.W001",
            )
        )
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        warnings.append(
            Warning(
                "DATABASE_URL is not set: SQLite is for the embedded mode only.", id="parlant.W002"
            )
        )
    return warnings
