"""Django-level error handlers: problem+json under /api/, friendly pages elsewhere."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from .problems import api_not_found, is_api_request, server_error_problem


def page_not_found(request: HttpRequest, exception: Exception | None = None, **kwargs: Any) -> HttpResponse:
    if is_api_request(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)  # type: ignore[arg-type]


def server_error(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    if is_api_request(request):
        return server_error_problem()
    return defaults.server_error(request)
