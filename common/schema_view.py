"""The OpenAPI schema, generated once per process.

The schema is a function of the code alone (SERVE_PUBLIC: the same for every caller), and
generating it walks every view and serializer — tens of milliseconds each time. It is kept in
process memory rather than the shared cache: every worker runs the same code, and a deploy
restarts the workers, which is exactly when the schema can change.
"""

from __future__ import annotations

import threading

from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response

_schemas: dict[tuple, dict] = {}
_lock = threading.Lock()


class CachedSpectacularAPIView(SpectacularAPIView):
    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, request.GET.get("lang") or "", self.serve_public, str(self.urlconf))
        schema = _schemas.get(key)
        if schema is None:
            with _lock:
                schema = _schemas.get(key)
                if schema is None:
                    response = super()._get_schema_response(request)
                    schema = _schemas[key] = response.data
        return Response(
            data=schema,  # the OpenAPI renderers only read it
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )
