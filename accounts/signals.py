"""Hooks into code we do not own: the admin (or any `user.save()`) deactivating an account."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import AppPassword, User
from .services import app_passwords_revoke_all


@receiver(post_save, sender=User, dispatch_uid="accounts.app_passwords_die_with_the_account")
def _deactivated_user_loses_app_passwords(sender, instance: User, created: bool, **kwargs) -> None:
    # Authentication refuses an inactive user's app passwords anyway; deleting them as well means
    # reactivating the account does not bring back passwords that may sit in lost devices.
    if not created and not instance.is_active and AppPassword.objects.filter(user=instance).exists():
        app_passwords_revoke_all(user=instance)
