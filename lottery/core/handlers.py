"""Django-level error handlers: problem+json under /api/, friendly pages elsewhere."""

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader

from .problems import (
    api_not_found,
    database_unavailable_body,
    is_api_request,
    problem_response,
    server_error_problem,
)

logger = logging.getLogger(__name__)


def refusal(request: HttpRequest, *, status: int, code: str, title: str, detail: str) -> HttpResponse:
    """A 4xx for a request refused before the rest of the stack ran: problem+json under
    /api/, else a page rendered without the request (no session, no database)."""
    if is_api_request(request):
        return problem_response(status=status, code=code, title=title, detail=detail)
    body = loader.get_template("web/errors/refused.html").render(
        {"status": status, "title": title, "detail": detail}
    )
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None, **kwargs: Any) -> HttpResponse:
    """Django's refusals (a Host not in ALLOWED_HOSTS, a form with too many fields, …)."""
    return refusal(
        request, status=400, code="bad_request", title="Bad request", detail="The request could not be read."
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None, **kwargs: Any) -> HttpResponse:
    if is_api_request(request):
        return api_not_found(request)
    return render(request, "web/errors/404.html", status=404)


def permission_denied(
    request: HttpRequest, exception: Exception | None = None, **kwargs: Any
) -> HttpResponse:
    if is_api_request(request):
        return problem_response(
            status=403, code="forbidden", title="Forbidden", detail="You are not allowed to do this."
        )
    return render(request, "web/errors/403.html", status=403)


def server_error(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    if is_api_request(request):
        return server_error_problem()
    # Whatever failed may be the database or a context processor: render with a bare
    # context (no request, so no context processors, no session, no user lookup).
    try:
        body = loader.get_template("web/errors/500.html").render({})
    except Exception:  # the page itself must never be the second failure
        logger.exception("rendering the 500 page failed")
        body = "<!doctype html><title>Server error</title><h1>Something went wrong on our side.</h1>"
    return HttpResponseServerError(body)


def csrf_failure(request: HttpRequest, reason: str = "", **kwargs: Any) -> HttpResponse:
    """A form posted without a valid CSRF token (an expired page, cookies blocked)."""
    if is_api_request(request):
        return problem_response(
            status=403, code="forbidden", title="Forbidden", detail=f"CSRF check failed: {reason}"
        )
    return render(request, "web/errors/403.html", {"csrf_failed": True}, status=403)


class DatabaseUnavailableMiddleware:
    """Outside the API (DRF maps these itself): a lost database is a 503, not a 500."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable: %s", exception)
        if is_api_request(request):
            response: HttpResponse = JsonResponse(
                database_unavailable_body(), status=503, content_type="application/problem+json"
            )
        else:
            body = loader.get_template("web/errors/500.html").render({"unavailable": True})
            response = HttpResponse(body, status=503)
        response["Retry-After"] = "5"
        return response
