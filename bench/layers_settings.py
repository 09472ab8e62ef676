"""The API's settings, with the URLs of `bench/bench_layers.py`'s layers in front of the API's own."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.layers_urls"
