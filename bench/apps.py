from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmarks and the data generator they share (`manage.py generate_data`)."""

    name = "bench"
    verbose_name = "Benchmarks"
