from django.apps import AppConfig


class IcalConfig(AppConfig):
    name = "ical"
    label = "ical"
    verbose_name = "iCalendar"
