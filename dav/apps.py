from django.apps import AppConfig


class DavConfig(AppConfig):
    name = "dav"
    verbose_name = "CalDAV"

    def ready(self) -> None:
        # Here, not at the top: dav.calendars imports the models, which are loaded only once the apps are.
        from common import refusals

        from .answers import refusal_response
        from .calendars import ROOT

        # Refusals made before a DAV view runs are answered as DAV:error bodies too.
        refusals.register(ROOT, refusal_response)
