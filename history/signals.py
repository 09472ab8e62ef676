"""Hooks into django-simple-history (code we don't own): copy the action onto the version row."""

from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

from .models import Action


@receiver(pre_create_historical_record)
def set_history_action(sender, instance, history_instance, **kwargs) -> None:
    if hasattr(history_instance, "history_action"):
        history_instance.history_action = getattr(instance, "_history_action", None) or (
            Action.CREATED if history_instance.history_type == "+" else Action.UPDATED
        )
