"""The forms of the console's intermediate steps. Each rule of what a person may choose or type has one
owner here; the services enforce their own limits again, whichever surface calls them."""

from django import forms
from django.db.models import Count
from django.utils.translation import gettext as _

from operators.selectors import holders_eligible
from orderops.conf import orderops_setting
from orders.history import value_text
from orders.models import Order, OrderStatus
from orders.results import RequestRefused
from orders.services import OrderStale
from orders.validators import currency_normalised


def first_error(form: forms.Form) -> str:
    """The form's first error, as the one sentence its page (or message) shows."""
    for errors in form.errors.values():
        return str(errors[0])
    return ""


class OperatorChoiceForm(forms.Form):
    """Whom to assign orders to: one of the users who may hold orders (operators.selectors.holders_eligible),
    chosen by id as the page lists them."""

    operator = forms.ChoiceField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Each with how many orders they hold now, so that the chooser sees the load.
        self.operators = list(holders_eligible().annotate(held_now=Count("held_assignments", distinct=True)))
        field = self.fields["operator"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(str(user.pk), user.get_username()) for user in self.operators]
        choose = _("Choose an operator from the list.")
        field.error_messages.update({"required": choose, "invalid_choice": choose})

    def clean_operator(self):
        chosen = self.cleaned_data["operator"]
        return next(user for user in self.operators if str(user.pk) == chosen)


class StatusChoiceForm(forms.Form):
    """The status to set: one of the configured order statuses, by code."""

    status = forms.ChoiceField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.statuses = list(OrderStatus.objects.all())
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(status.code, status.label) for status in self.statuses]
        choose = _("Choose a status from the list.")
        field.error_messages.update({"required": choose, "invalid_choice": choose})

    def clean_status(self) -> OrderStatus:
        chosen = self.cleaned_data["status"]
        return next(status for status in self.statuses if status.code == chosen)


class TakeOverForm(forms.Form):
    """Why a supervisor takes orders over, which the former holders read in the timeline: required, at most
    ORDEROPS["REASON_MAX_LENGTH"] characters, surrounding spaces dropped.

    The list's action shows a refusal beside the field on its page; the order page's button (`order` given)
    leaves it as a message on that order's page, worded for the order.
    """

    reason = forms.CharField()

    def __init__(self, *args, order: Order | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        self.max_length = orderops_setting("REASON_MAX_LENGTH")
        self.fields["reason"].error_messages["required"] = (
            _("Say why you take these orders over: the holders will see it in the timeline.")
            if order is None
            else _("Nothing was taken over: a take-over needs a reason.")
        )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if len(reason) > self.max_length:
            if self.order is None:
                message = _("The reason can have at most %(limit)s characters.") % {"limit": self.max_length}
            else:
                message = _(
                    "#%(number)s was not taken over: the reason can have at most %(limit)s characters."
                ) % {
                    "number": self.order.number,
                    "limit": self.max_length,
                }
            raise forms.ValidationError(message, code="max_length")
        return reason


class ReleaseForm(forms.Form):
    """Why a supervisor (or whoever assigned them) ends colleagues' holds from the list, which the holders are
    told: required, at most ORDEROPS["REASON_MAX_LENGTH"] characters, surrounding spaces dropped. The
    service refuses a colleague's release without one again, whichever surface calls it."""

    reason = forms.CharField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_length = orderops_setting("REASON_MAX_LENGTH")
        self.fields["reason"].error_messages["required"] = _(
            "Say why you release these orders: their holders are told."
        )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if len(reason) > self.max_length:
            raise forms.ValidationError(
                _("The reason can have at most %(limit)s characters.") % {"limit": self.max_length},
                code="max_length",
            )
        return reason


class StatusSelect(forms.Select):
    """The status choice, each final status marked: the page says it ends the hold and asks first."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        status = getattr(value, "instance", None)
        if getattr(status, "releases_assignment", False):
            option["attrs"]["data-final"] = "1"
            option["label"] = _("%(status)s (ends the hold)") % {"status": label}
        return option


class UpdateForm(forms.Form):
    """The order page's Update box: a comment and/or a status change and, for the holder, "release after
    update", with the version the page was loaded at (a status change from an older page is refused).

    `statuses` are the ones the person may set (console.order_page.settable_statuses: none unless the rule
    book lets them change the order); the services decide again when it is sent.
    """

    body = forms.CharField(required=False, strip=False)
    status = forms.ChoiceField(required=False)
    release_after = forms.BooleanField(required=False)
    loaded_version = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, order: Order, statuses: list[OrderStatus], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        self.statuses = statuses
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "")] + [(status.code, status.label) for status in statuses]
        field.error_messages["invalid_choice"] = _(
            "#%(number)s was not updated: you cannot set that status on it now."
        ) % {"number": order.number}
        self.fields["loaded_version"].error_messages["invalid"] = _(
            "#%(number)s was not updated: reload the page and try again."
        ) % {"number": order.number}

    def clean_status(self) -> OrderStatus | None:
        chosen = self.cleaned_data["status"]
        return next((status for status in self.statuses if status.code == chosen), None)

    def clean(self):
        cleaned = super().clean() or {}
        nothing = not (cleaned.get("body") or "").strip() and not cleaned.get("status")
        # With no status to choose, it is a comment box: the comment service says what an empty one lacks.
        if nothing and self.statuses and not cleaned.get("release_after") and not self.errors:
            raise forms.ValidationError(
                _("#%(number)s was not updated: write a comment or choose a status.")
                % {"number": self.order.number},
                code="empty",
            )
        return cleaned


class OrderForm(forms.ModelForm):
    """The order page's form: the order's fields, plus the version it was loaded at (hidden), which the edit
    service checks so that a save made from an older version is refused instead of overwriting; and what
    the page's Update box held (a comment, a status, "release after update"), saved with the same submit so
    that nothing typed is lost."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    update_comment = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)
    update_status = forms.CharField(widget=forms.HiddenInput, required=False)
    update_release = forms.BooleanField(widget=forms.HiddenInput, required=False)

    # Moments are shown in the person's time zone and kept in ISO 8601 by the history: never merged.
    merge_excluded = ("created_at",)

    # Set on a subclass when the services refused a save: the page shows the form again with the person's
    # input (the refusal is the page's one message). A stale save also carries the current version, so that
    # the next save can land.
    refused: RequestRefused | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["loaded_version"].initial = self.instance.version
        if "status" in self.fields:
            self.fields["status"].widget = StatusSelect(choices=self.fields["status"].widget.choices)
        if isinstance(self.refused, OrderStale) and self.is_bound:
            data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict, as bound forms get
            data[self.add_prefix("loaded_version")] = str(self.refused.current_version)
            self._take_colleagues_changes(self.refused, data)
            self.data = data

    def _take_colleagues_changes(self, stale: OrderStale, data) -> None:
        """Fields a colleague changed that this person left as they loaded them now show the colleague's
        value, so that saving again keeps it; where both changed a field, the person's input stays."""
        for change in stale.changes:
            name = change.field
            if name not in self.fields or name in self.merge_excluded:
                continue
            posted = data.get(self.add_prefix(name), "")
            try:
                posted_text = value_text(self.fields[name].to_python(posted))
            except forms.ValidationError:
                continue
            if name == "status":
                posted_text = str(posted)
            if posted_text == change.loaded_value:
                data[self.add_prefix(name)] = change.current_value

    def clean_currency(self):
        # "eur" is EUR: upper-cased before the model's ISO 4217 check, as everywhere (orders.validators).
        return currency_normalised(self.cleaned_data["currency"])

    def clean_update_status(self) -> OrderStatus | None:
        code = self.cleaned_data["update_status"]
        if not code:
            return None
        status = OrderStatus.objects.filter(code=code).first()
        if status is None:
            raise forms.ValidationError(_("There is no order status %(code)r.") % {"code": code})
        return status

    def clean(self):
        cleaned = super().clean()
        if self.refused is not None:
            raise forms.ValidationError(self.refused.message, code=str(self.refused.code))
        return cleaned
