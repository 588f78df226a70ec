"""The project's URLs plus views that fail on purpose, to test the friendly error pages."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from config.urls import handler403, handler404, handler500  # noqa: F401 - Django looks them up here
from config.urls import urlpatterns as project_urlpatterns


def forbidden(request):
    raise PermissionDenied


def broken(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("test/forbidden", forbidden),
    path("api/v1/test/forbidden", forbidden),
    path("test/broken", broken),
    path("api/v1/test/broken", broken),
    *project_urlpatterns,
]
