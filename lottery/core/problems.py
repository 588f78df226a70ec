"""Every error the API returns becomes RFC 9457 problem+json with a stable `code`.

DRF exceptions, domain errors, Django's 404/500 and unknown /api/ routes all pass
through `problem_response`, so clients handle one shape whatever went wrong.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# DRF exception class → (stable code, title). Checked in order: subclasses first.
_DRF_CODES: list[tuple[type[exceptions.APIException], str, str]] = [
    (exceptions.ParseError, "parse_error", "Malformed request body"),
    (exceptions.ValidationError, "validation_error", "Invalid input"),
    (exceptions.NotAuthenticated, "not_authenticated", "Authentication required"),
    (exceptions.AuthenticationFailed, "not_authenticated", "Authentication required"),
    (exceptions.PermissionDenied, "forbidden", "Forbidden"),
    (exceptions.NotFound, "not_found", "Not found"),
    (exceptions.MethodNotAllowed, "method_not_allowed", "Method not allowed"),
    (exceptions.NotAcceptable, "not_acceptable", "Not acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type", "Unsupported media type"),
    (exceptions.Throttled, "rate_limited", "Too many requests"),
]


def problem_body(
    *, status: int, code: str, title: str, detail: str, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(
    *, status: int, code: str, title: str, detail: str, errors: dict[str, Any] | None = None
) -> JsonResponse:
    """A plain Django response, for errors raised outside DRF views."""
    return JsonResponse(
        problem_body(status=status, code=code, title=title, detail=detail, errors=errors),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _validation_errors(data: Any) -> dict[str, list[str]]:
    if isinstance(data, dict):
        return {str(field): [str(m) for m in _flatten(messages)] for field, messages in data.items()}
    return {"non_field_errors": [str(m) for m in _flatten(data)]}


def _flatten(messages: Any) -> list[Any]:
    if isinstance(messages, list):
        return [m for item in messages for m in _flatten(item)]
    if isinstance(messages, dict):
        return [f"{key}: {m}" for key, value in messages.items() for m in _flatten(value)]
    return [messages]


def _first_message(data: Any) -> str:
    flat = _flatten(list(data.values()) if isinstance(data, dict) else data)
    return str(flat[0]) if flat else "Invalid input."


def database_unavailable_body() -> dict[str, Any]:
    return problem_body(
        status=503,
        code="service_unavailable",
        title="Service unavailable",
        detail="The database is unreachable right now. Nothing was changed; please retry shortly.",
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        # A connection that died (restart, failover): a clean, retryable 503.
        logger.warning("database unavailable: %s", exc)
        unavailable = Response(database_unavailable_body(), status=503, content_type=PROBLEM_CONTENT_TYPE)
        unavailable["Retry-After"] = "5"
        return unavailable
    if isinstance(exc, DomainError):
        return Response(
            problem_body(
                status=exc.status,
                code=exc.code,
                title=exc.title,
                detail=exc.detail,
                errors=getattr(exc, "errors", None),
            ),
            status=exc.status,
            content_type=PROBLEM_CONTENT_TYPE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)  # sets Retry-After, WWW-Authenticate
    if response is None or not isinstance(exc, exceptions.APIException):
        return None  # a bug: let Django's handler500 answer (problem+json under /api/)
    code, title = next(
        ((code, title) for cls, code, title in _DRF_CODES if isinstance(exc, cls)),
        ("error", "Request failed"),
    )
    errors = None
    if isinstance(exc, exceptions.ValidationError):
        errors = _validation_errors(exc.detail)
        detail = _first_message(exc.detail)
    else:
        detail = str(exc.detail)
    response.data = problem_body(
        status=response.status_code, code=code, title=title, detail=detail, errors=errors
    )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


@csrf_exempt  # it changes nothing; without this a POST with a cookie got Django's HTML CSRF page
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Catch-all for unknown routes under /api/: problem+json in every mode, DEBUG included."""
    return problem_response(status=404, code="not_found", title="Not found", detail="No such API endpoint.")


def server_error_problem() -> HttpResponse:
    return problem_response(
        status=500,
        code="server_error",
        title="Internal server error",
        detail="Something went wrong on our side. It has been logged.",
    )
