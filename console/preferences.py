"""The person's own language and time zone in the console: applied to every request (from the session,
no query), chosen from the header's menu, put in the session at login."""

from collections.abc import Callable
from functools import lru_cache
from typing import cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from operators.preferences import Preference, preference_of, preference_set, time_zone_names, zone
from orderops.types import Actor

SESSION_KEY = "orderops_preference"


def session_preference(request: HttpRequest) -> Preference:
    session = getattr(request, "session", None)
    return (
        Preference.from_session(session.get(SESSION_KEY)) if session is not None else None
    ) or Preference()


@receiver(user_logged_in, dispatch_uid="console.preferences.at_login")
def preference_at_login(sender, request, user, **kwargs) -> None:
    """Read once at login, so that the pages after it apply the preference without a query."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = preference_of(user.pk).as_session()


class PreferenceMiddleware:
    """After LocaleMiddleware (the browser's language) and authentication: a language the person chose wins,
    and their time zone is active for the request (the site's TIME_ZONE when they chose none)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = Preference()
        if request.user.is_authenticated:
            chosen = session_preference(request)
        if chosen.language:
            translation.activate(chosen.language)
            request.LANGUAGE_CODE = chosen.language
        chosen_zone = zone(chosen.time_zone)
        if chosen_zone is not None:
            timezone.activate(chosen_zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def language_choices() -> list[tuple[str, str]]:
    # Each language in its own words ("Български"), as people look for their own.
    return [("", gettext_lazy("The browser's language"))] + [
        (code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES
    ]


def time_zone_choices() -> list[tuple[str, str]]:
    default = _("The site's time zone (%(zone)s)") % {"zone": settings.TIME_ZONE}
    return [("", default)] + [(name, name.replace("_", " ")) for name in time_zone_names()]


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["language"]).choices = language_choices()
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = time_zone_choices()


@lru_cache(maxsize=256)
def _options(language: str, selected: str, site_zone: str, field: str) -> SafeString:
    """A select's <option>s, rendered once per language and choice: the zones are some 430, and the header
    shows them on every page (a form widget renders them at tens of milliseconds a page)."""
    with translation.override(language):
        choices = language_choices() if field == "language" else time_zone_choices()
        return SafeString(
            "".join(
                format_html(
                    '<option value="{}"{}>{}</option>', value, " selected" if value == selected else "", label
                )
                for value, label in choices
            )
        )


def options_html(field: str, selected: str) -> SafeString:
    return _options(translation.get_language() or settings.LANGUAGE_CODE, selected, settings.TIME_ZONE, field)


def _back(request: HttpRequest, target: str) -> HttpResponseRedirect:
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    return HttpResponseRedirect(target if target and safe else reverse("console_landing"))


@require_POST
def preferences_save(request: HttpRequest) -> HttpResponse:
    """The header menu's POST: save the person's choice, apply it to this session, back to the page."""
    form = PreferenceForm(request.POST)
    target = request.POST.get("next", "")
    if not form.is_valid():
        messages.error(
            request,
            _("Your language and time zone were not changed: %(reason)s")
            % {"reason": " ".join(str(error) for errors in form.errors.values() for error in errors)},
        )
        return _back(request, target)
    result = preference_set(
        actor=cast(Actor, request.user),  # admin_view: a logged-in staff member
        language=form.cleaned_data["language"],
        time_zone=form.cleaned_data["time_zone"],
    )
    request.session[SESSION_KEY] = result.preference.as_session()
    # The confirmation in the language just chosen (or the browser's, for "the browser's language").
    language = result.preference.language or translation.get_language_from_request(request)
    with translation.override(language):
        zone_name = result.preference.time_zone or settings.TIME_ZONE
        messages.success(
            request,
            _("Language: %(language)s. Times in %(zone)s.")
            % {"language": get_language_info(language)["name_local"], "zone": zone_name.replace("_", " ")},
        )
    return _back(request, target)
