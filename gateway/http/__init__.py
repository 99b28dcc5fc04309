"""The HTTP edge: the dossier lookup API, liveness and readiness, the OpenAPI document."""

from gateway.http.app import build_http_app

__all__ = ["build_http_app"]
