"""How a person logs in and out in a browser: a Django session for the browsable API and the history pages.

API clients use tokens (/api/auth/...); these pages are for people. Sending the login form is limited like the
token login (per client address and per account named) and audited the same way (accounts/services.py); showing
it counts like any other request (per client address, or per user when logged in). Past a limit: a 429 page
with Retry-After.
"""

from __future__ import annotations

from types import SimpleNamespace

from django import forms
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from rest_framework import exceptions
from rest_framework.settings import api_settings

from common.throttling import AUTH_THROTTLES

from . import services


class BrowserLoginForm(forms.Form):
    username = forms.CharField(label="Username or email", max_length=254)
    password = forms.CharField(label="Password", max_length=4096, widget=forms.PasswordInput)

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.user = services.browser_login(
                request=self.request, username=data["username"], password=data["password"]
            )
        except exceptions.AuthenticationFailed as exc:
            raise forms.ValidationError(str(exc.detail)) from exc
        return data

    def get_user(self):
        return self.user


def _throttled(request, throttle_classes) -> HttpResponse | None:
    """The limits of `throttle_classes` on the page: a 429 page (with Retry-After) once they are spent.

    The throttles read the client address (or the user), the form's username (as a token login's body) and
    record their state on the Django request, where RateLimitHeadersMiddleware finds it for the RateLimit headers.
    """
    form_request = SimpleNamespace(
        _request=request, META=request.META, headers=request.headers, data=request.POST.dict(), user=request.user
    )
    throttles = [cls() for cls in throttle_classes]
    refused = [throttle for throttle in throttles if not throttle.allow_request(form_request, None)]
    if not refused:
        return None
    wait = max(1, int(max(throttle.wait() or 1 for throttle in refused)))
    response = render(request, "accounts/too_many_attempts.html", {"wait": wait}, status=429)
    response["Retry-After"] = str(wait)
    return response


class BrowserLoginView(LoginView):
    template_name = "rest_framework/login.html"
    form_class = BrowserLoginForm

    def get(self, request, *args, **kwargs):
        return _throttled(request, api_settings.DEFAULT_THROTTLE_CLASSES) or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return _throttled(request, AUTH_THROTTLES) or super().post(request, *args, **kwargs)

    def form_valid(self, form):
        # The form's clean() logged the user in (services.browser_login): only the redirect is left.
        return HttpResponseRedirect(self.get_success_url())


class BrowserLogoutView(LogoutView):
    def post(self, request, *args, **kwargs):
        services.browser_logout(request=request)
        return super().post(request, *args, **kwargs)
