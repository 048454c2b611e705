"""The stores admin's form: write-only secrets, a validated status map, the store's address."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import OrderStatus
from stores.models import Store


class SecretInput(forms.PasswordInput):
    """Never renders the stored value: a secret set once is not shown again."""

    def __init__(self) -> None:
        super().__init__(render_value=False, attrs={"autocomplete": "new-password"})


def status_map_errors(value: Any) -> list[str]:
    """What is wrong with a status map: it maps store statuses (text) to existing orderops status codes."""
    if not isinstance(value, dict):
        return [_('The status map must be an object: {"store status": "orderops status code", ...}.')]
    codes = set(OrderStatus.objects.values_list("code", flat=True))
    errors = []
    for store_status, code in value.items():
        if not isinstance(code, str) or code not in codes:
            errors.append(
                _("%(store_status)r maps to %(code)r, which is no order status (these are: %(codes)s).")
                % {"store_status": store_status, "code": code, "codes": ", ".join(sorted(codes))}
            )
    return errors


class StoreForm(forms.ModelForm):
    webhook_secret = forms.CharField(
        label=gettext_lazy("webhook secret"),
        required=False,
        strip=True,
        widget=SecretInput(),
        help_text=gettext_lazy("Never shown again once set. Leave empty to keep the current one."),
    )
    api_key = forms.CharField(
        label=gettext_lazy("API consumer key"),
        required=False,
        strip=True,
        widget=SecretInput(),
        help_text=gettext_lazy("WooCommerce (read access to orders). Leave empty to keep the current one."),
    )
    api_secret = forms.CharField(
        label=gettext_lazy("API consumer secret"),
        required=False,
        strip=True,
        widget=SecretInput(),
        help_text=gettext_lazy("WooCommerce. Leave empty to keep the current one."),
    )
    access_token = forms.CharField(
        label=gettext_lazy("access token"),
        required=False,
        strip=True,
        widget=SecretInput(),
        help_text=gettext_lazy(
            "Shopify: the Admin API token (read_orders); Magento: the integration's token (Sales > "
            "Operations > Orders). Leave empty to keep the current one."
        ),
    )

    class Meta:
        model = Store
        fields = [
            "name",
            "slug",
            "platform",
            "base_url",
            "active",
            "webhook_secret",
            "api_key",
            "api_secret",
            "access_token",
            "status_map",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in Store.SECRET_FIELDS:
            if self.instance.pk is not None and getattr(self.instance, name):
                self.fields[name].widget.attrs["placeholder"] = _("(set: leave empty to keep it)")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # An empty secret keeps the stored one: put back before the model is filled from cleaned_data.
        stored = Store.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        for name in Store.SECRET_FIELDS:
            if not cleaned.get(name) and stored is not None:
                cleaned[name] = getattr(stored, name)
        return cleaned

    def clean_status_map(self) -> dict:
        value = self.cleaned_data.get("status_map")
        errors = status_map_errors(value)
        if errors:
            raise ValidationError(errors)
        return value  # type: ignore[return-value]
