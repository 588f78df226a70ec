from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from lottery.core import problems
from lottery.core.handlers import bad_request, page_not_found, permission_denied, server_error

api_v1 = [
    path("", include("lottery.accounts.urls")),
    path("", include("lottery.draws.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc",
        # Redoc styles itself inline and renders in a blob: worker; nothing leaves the site.
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="schema", template_name="core/redoc.html")
        ),
        name="redoc",
    ),
    re_path(r"^api/", problems.api_not_found),
    path("", include("lottery.core.urls")),
    path("", include("lottery.web.urls")),
]

handler400 = bad_request
handler403 = permission_denied
handler404 = page_not_found
handler500 = server_error
