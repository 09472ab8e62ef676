from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        # Signal receivers are wired once the app registry is ready (cache imports the models).
        from simple_history.signals import post_create_historical_record

        from . import cache

        # Every versioned change of an event or a permission invalidates the cached answers depending on it.
        post_create_historical_record.connect(cache.on_historical_record, dispatch_uid="events.cache")
