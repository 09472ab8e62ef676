from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "API plumbing"

    def ready(self) -> None:
        from . import after_answer, schema  # noqa: F401  (connects to the request signals; registers OpenAPI extensions)
