from django.apps import AppConfig


class DavConfig(AppConfig):
    name = "dav"
    verbose_name = "CalDAV"
