"""Answer the operations endpoints before host validation and the rest of the stack.

Kubernetes probes and Prometheus reach a pod by its IP, which is not (and should not be)
in ALLOWED_HOSTS; these endpoints reveal nothing host-specific and change nothing.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .metrics import metrics_view
from .views import healthz, readyz

_PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics_view,
}


class ProbesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = _PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
