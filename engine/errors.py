"""Domain exceptions raised by the engine; parlant_site/api.py maps the user-facing ones to 4xx."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class InvalidBehavior(EngineError):  # noqa: N818 - reads as a statement about the input
    """The authored behaviour cannot be used as given (e.g. a relationship to an unknown id)."""


class ToolDefinitionError(EngineError):
    """A function registered with @tool has a signature the engine cannot describe to a model."""


class ToolNotFound(EngineError):  # noqa: N818
    def __init__(self, tool_id: str) -> None:
        super().__init__(f"No tool named {tool_id!r} is registered.")
        self.tool_id = tool_id


class NLPServiceError(EngineError):
    """A model provider failed. Providers raise a subclass so the engine knows what to retry."""


class NLPServiceUnavailable(NLPServiceError):  # noqa: N818
    """Transient: a timeout, a connection error, a rate limit or a 5xx. Worth retrying."""


class NLPSchemaError(NLPServiceError):
    """The model answered, but not with JSON that satisfies the requested schema. Worth retrying."""


class GenerationFailed(NLPServiceError):  # noqa: N818
    """Every attempt of one structured generation failed; the turn ends with an error status."""

    def __init__(self, schema_name: str, attempts: int, last_error: str) -> None:
        super().__init__(f"{schema_name}: {attempts} attempts failed; last error: {last_error}")
        self.schema_name = schema_name
        self.attempts = attempts
        self.last_error = last_error
