"""OpenAPI generation tweaks: bearer auth, and component names for nested view serializers."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer: Any, direction: str) -> str:
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
