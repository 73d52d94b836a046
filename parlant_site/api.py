"""One error shape for the whole API, and shared API plumbing."""

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def _first_message(detail: Any) -> str:
    """The first human-readable message inside DRF's nested error detail."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            message = _first_message(value)
            return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(error: Exception, context: dict) -> Response | None:
    """Map domain and validation errors to 4xx with `{"detail": <message>}`.

    Validation problems answer 422 as Parlant's FastAPI server does, with the per-field errors in
    `errors`; unparsable bodies answer 400.
    """
    if isinstance(error, ObjectDoesNotExist):
        return Response({"detail": str(error) or "Not found."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(error, DjangoValidationError):
        error = exceptions.ValidationError(
            error.message_dict if hasattr(error, "error_dict") else error.messages
        )
    if isinstance(error, exceptions.ValidationError):
        return Response(
            {"detail": _first_message(error.detail), "errors": error.detail},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    response = drf_exception_handler(error, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": _first_message(response.data), "errors": response.data}
    return response


class UnprocessableEntity(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request could not be processed."
    default_code = "unprocessable"


def bad_request(request, exception: Exception | None = None):
    """Django's 400 handler: JSON for API clients, with 413 for bodies over the upload limit.

    Django raises these before any view runs (e.g. RequestDataTooBig while reading the body),
    so DRF's handler never sees them.
    """
    from django.conf import settings
    from django.core.exceptions import RequestDataTooBig
    from django.http import JsonResponse
    from django.views.defaults import bad_request as html_bad_request

    if request.path.startswith(("/admin/", "/dashboard/")):
        return html_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse(
            {"detail": f"The request body is larger than the {limit}-byte limit."}, status=413
        )
    return JsonResponse({"detail": "Bad request."}, status=400)


# Pages for people; every other path is the API (Parlant's paths sit at the root), and answers
# JSON even for unknown paths and server errors.
HTML_PATH_PREFIXES = ("/admin/", "/dashboard/", "/widget/", "/static/")


def is_api_path(path: str) -> bool:
    return path != "/" and not path.startswith(HTML_PATH_PREFIXES)


def not_found(request, exception: Exception | None = None):
    """Django's 404 handler: JSON on API paths (also for unknown ones), Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if not is_api_path(request.path):
        return page_not_found(request, exception)
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request):
    """Django's 500 handler: JSON on API paths, without internals (they go to the log)."""
    from django.http import JsonResponse
    from django.views.defaults import server_error as html_server_error

    if not is_api_path(request.path):
        return html_server_error(request)
    return JsonResponse({"detail": "Internal server error."}, status=500)
