"""DRF's browsable API, for people in a browser: the same endpoints, rendered as HTML pages.

Only a client that asks for `text/html` (a browser) gets it: it is the last renderer, so no `Accept` and
`*/*` still get JSON. A person logs in with a Django session (accounts/session_views.py); writes made with
that session must carry the CSRF token, which the pages' forms send.
"""

from __future__ import annotations

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def get_rendered_html_form(self, data, view, method, request):
        # The views read input with their own serializers (the viewset's serializer describes the answer), so
        # a generated HTML form would show the wrong fields: the raw-data form takes the JSON body instead.
        return None

    def get_breadcrumbs(self, request):
        # /api/ itself is no page (it answers 404): no crumb for it.
        return [(name, url) for name, url in super().get_breadcrumbs(request) if url.rstrip("/") != "/api"]
