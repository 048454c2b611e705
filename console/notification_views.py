"""The console's notification screens: the list (newest first, mark one or all as read), the bell's count,
and each person's email preferences. State changes only on POST; a GET on a button's URL says so."""

from collections.abc import Callable
from functools import wraps
from typing import cast

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.formatting import exact_time, time_ago
from live.models import Notification, NotificationPreference
from live.notifications import unread_count
from live.wording import notification_detail_label, notification_sentence_html
from orderops.conf import orderops_setting
from orderops.types import Actor

Kind = Notification.Kind
# Notifications per page of the list.
PER_PAGE = 50
# Console notifications cannot be turned off at all; these kinds cannot even lose their email by default
# without the person choosing so, and the page says the take-over always shows in the console.
ALWAYS_IN_CONSOLE = Kind.TAKEN_OVER


def _person(request: HttpRequest) -> Actor:
    """The logged-in staff member (every view here runs behind the admin site's login)."""
    return cast(Actor, request.user)


def _context(request: HttpRequest, title: str) -> dict:
    return {**admin.site.each_context(request), "title": title, "subtitle": None}


def _page_url(request: HttpRequest) -> str:
    """Back to the list page the person came from (the `next` field), else the first page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("live:notifications")


def notifications_page(request: HttpRequest) -> HttpResponse:
    rows = (
        Notification.objects.filter(recipient=_person(request))
        .select_related("order", "actor", "holder")
        .order_by("-created_at", "-id")
    )
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    entries = [
        {
            "notification": notification,
            "sentence": notification_sentence_html(
                notification, reverse("admin:orders_order_change", args=[notification.order_id])
            ),
            "detail_label": notification_detail_label(notification),
            "age": time_ago(notification.created_at),
            "exact": exact_time(notification.created_at),
        }
        for notification in page.object_list
    ]
    unread = unread_count(_person(request))
    return TemplateResponse(
        request,
        "console/notifications/list.html",
        {
            **_context(request, _("Notifications")),
            "page_obj": page,
            "entries": entries,
            "unread": unread,
            "unread_text": ngettext("%(count)s unread", "%(count)s unread", unread) % {"count": unread},
        },
    )


def notifications_unread(request: HttpRequest) -> JsonResponse:
    """The bell's count alone (console/static/console/live.js asks live:sync; never cached: admin_view says
    so)."""
    return JsonResponse({"unread": unread_count(_person(request))})


def post_only(button: Callable[[], str]) -> Callable:
    """Like require_POST, with a page for a person on GET: nothing changed, and the button itself."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST":
                return view(request, *args, **kwargs)
            if request.method not in ("GET", "HEAD"):
                return HttpResponseNotAllowed(["POST"])
            response = TemplateResponse(
                request,
                "console/notifications/post_only.html",
                {
                    **_context(request, str(button())),
                    "button_label": button(),
                    "list_url": reverse("live:notifications"),
                },
                status=405,
            )
            response["Allow"] = "POST"
            return response

        return inner

    return decorate


@post_only(lambda: _("Mark as read"))
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    with transaction.atomic():
        notification = (
            Notification.objects.filter(pk=notification_id, recipient=_person(request))
            .select_related("order")
            .first()
        )
        if notification is None:
            raise Http404(_("You have no notification %(id)s.") % {"id": notification_id})
        if notification.read_at is None:
            Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
                read_at=timezone.now()
            )
    return HttpResponseRedirect(_page_url(request))


@post_only(lambda: _("Mark all as read"))
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    marked = Notification.objects.filter(recipient=_person(request), read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if marked:
        messages.success(
            request,
            ngettext(
                "%(count)s notification marked as read.", "%(count)s notifications marked as read.", marked
            )
            % {"count": marked},
        )
    return HttpResponseRedirect(_page_url(request))


def notification_settings(request: HttpRequest) -> HttpResponse:
    """Email per kind: the person's choice, or the default (ORDEROPS["NOTIFICATION_EMAIL_KINDS"])."""
    defaults = set(orderops_setting("NOTIFICATION_EMAIL_KINDS"))
    chosen = dict(NotificationPreference.objects.filter(user=_person(request)).values_list("kind", "email"))
    if request.method == "POST":
        wanted = set(request.POST.getlist("email"))
        unknown = sorted(wanted - set(Kind.values))
        if unknown:
            messages.error(
                request,
                _("Nothing was saved: there is no kind of notification %(kinds)s.")
                % {"kinds": ", ".join(unknown)},
            )
            return HttpResponseRedirect(reverse("live:notification_settings"))
        with transaction.atomic():
            for kind in Kind.values:
                NotificationPreference.objects.update_or_create(
                    user=_person(request), kind=kind, defaults={"email": kind in wanted}
                )
        messages.success(request, _("Your notification settings were saved."))
        return HttpResponseRedirect(reverse("live:notification_settings"))
    kinds = [
        {
            "code": kind,
            "label": label,
            "email": chosen.get(kind, kind in defaults),
            "always": kind == ALWAYS_IN_CONSOLE,
        }
        for kind, label in Kind.choices
    ]
    return TemplateResponse(
        request,
        "console/notifications/settings.html",
        {
            **_context(request, _("Notification settings")),
            "kinds": kinds,
            "has_address": bool(_person(request).email),
            "list_url": reverse("live:notifications"),
        },
    )
