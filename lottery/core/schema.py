"""OpenAPI generation tweaks: bearer auth, and component names for nested view serializers."""

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> Any:
        # Any view that authenticates answers 401 not_authenticated to a bad or expired bearer
        # token, even where signing in is optional (GET /draws, /stats...): document it there
        # too. (`get_response_serializers` is replaced wholesale by @extend_schema, so the
        # responses are completed here, once they are built.)
        responses = super()._get_response_bodies(direction)
        if "401" in responses or not getattr(self.view, "authentication_classes", ()):
            return responses
        from .api import PROBLEM_MEDIA_TYPE, ProblemSerializer

        responses["401"] = self._get_response_for_code(
            OpenApiResponse(response=ProblemSerializer, description="Problem details (RFC 9457)"),
            "401",
            (PROBLEM_MEDIA_TYPE,),
            direction,
        )
        return dict(sorted(responses.items()))

    def get_serializer_name(self, serializer: Any, direction: Literal["request", "response"]) -> str:
        # `SignupApi.InputSerializer` → `SignupInput`: one view per operation means many
        # nested serializers share a short name; the view's name keeps them apart.
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return str(super().get_serializer_name(serializer, direction))
        view, nested = qualname.rsplit(".", 1)
        return view.split(".")[-1].removesuffix("Api").lstrip("_") + nested


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "lottery.accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "The token returned by POST /auth/signin"}
