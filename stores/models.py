"""Connected stores (Store) and the webhook inbox (Delivery)."""

import ipaddress
from urllib.parse import urlsplit

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stores.conf import stores_setting


class Platform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    MAGENTO = "magento", "Magento"


# The store status that stands for an order the store deleted (Shopify orders/delete, WooCommerce
# order.deleted): the order is kept, with the status the map names for this key.
DELETED = "deleted"

# Each platform's statuses, as its mapping names them (IncomingOrder.store_status), to orderops status codes.
# A store starts with its platform's map; superusers change it in the admin.
DEFAULT_STATUS_MAPS: dict[str, dict[str, str]] = {
    # Shopify has no single status: the mapping names the order by its state (cancelled, closed, fulfilled)
    # and otherwise by its financial status.
    Platform.SHOPIFY: {
        "pending": "pending",
        "authorized": "pending",
        "partially_paid": "pending",
        "open": "pending",
        "paid": "processing",
        "partially_refunded": "processing",
        "fulfilled": "complete",
        "refunded": "closed",
        "closed": "closed",
        "voided": "canceled",
        "cancelled": "canceled",
        DELETED: "canceled",
    },
    Platform.WOOCOMMERCE: {
        "pending": "pending",
        "checkout-draft": "pending",
        "processing": "processing",
        "on-hold": "on_hold",
        "completed": "complete",
        "refunded": "closed",
        "cancelled": "canceled",
        "failed": "canceled",
        "trash": "canceled",
        DELETED: "canceled",
    },
    Platform.MAGENTO: {
        "pending": "pending",
        "pending_payment": "pending",
        "processing": "processing",
        "holded": "on_hold",
        "payment_review": "on_hold",
        "fraud": "on_hold",
        "complete": "complete",
        "closed": "closed",
        "canceled": "canceled",
        DELETED: "canceled",
    },
}

# What goes back to the store for each orderops status (stores/writeback.py): the store's own status
# (WooCommerce, Magento). A status missing from the map is not written back (the note still is). Shopify has
# no status to set: its status goes back as a tag (orderops-status:<code>); its map may name the irreversible
# "orderCancel" or "fulfillmentCreate" for a status, and only then are they called (never by default).
DEFAULT_REVERSE_STATUS_MAPS: dict[str, dict[str, str]] = {
    Platform.SHOPIFY: {},
    Platform.WOOCOMMERCE: {
        "pending": "pending",
        "processing": "processing",
        "on_hold": "on-hold",
        "complete": "completed",
        "canceled": "cancelled",
    },
    Platform.MAGENTO: {
        "pending": "pending",
        "processing": "processing",
        "on_hold": "holded",
        "complete": "complete",
        "closed": "closed",
        "canceled": "canceled",
    },
}
SHOPIFY_ACTIONS = ("orderCancel", "fulfillmentCreate")

LOOPBACK_HOSTS = frozenset({"localhost"})


def host_is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url_validate(value: str) -> None:
    """A store's address must be https://, except for loopback hosts (a local proxy, tests)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            _("%(url)s is not a web address: it must start with https:// and name a host."),
            code="invalid",
            params={"url": value},
        )
    if parts.scheme == "http" and not host_is_loopback(parts.hostname):
        raise ValidationError(
            _("%(url)s must use https:// (plain http:// is allowed only for this machine, e.g. localhost)."),
            code="insecure",
            params={"url": value},
        )


class Store(models.Model):
    """A shop on Shopify, WooCommerce or Magento whose orders flow into orderops.

    The secrets (webhook secret, API key and secret, access token) are stored as given, never logged and
    never shown again once set (the admin's fields are write-only).
    """

    slug = models.SlugField(
        _("slug"), max_length=50, unique=True, help_text=_("The store's address here: /hooks/<slug>/.")
    )
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    name = models.CharField(
        _("name"), max_length=100, help_text=_("Shown as who changed an order: “Shopify changed status”.")
    )
    base_url = models.URLField(
        _("store address"),
        max_length=255,
        validators=[base_url_validate],
        help_text=_("e.g. https://example.myshopify.com; https:// except for this machine."),
    )
    webhook_secret = models.CharField(_("webhook secret"), max_length=255, blank=True)
    # WooCommerce: the REST API consumer key and secret. Shopify and Magento: the access token.
    api_key = models.CharField(_("API consumer key"), max_length=255, blank=True)
    api_secret = models.CharField(_("API consumer secret"), max_length=255, blank=True)
    access_token = models.CharField(_("access token"), max_length=255, blank=True)
    status_map = models.JSONField(
        _("status map"),
        default=dict,
        blank=True,
        help_text=_("The store's status → the orderops status code; the key “deleted” names deleted orders."),
    )
    reverse_status_map = models.JSONField(
        _("status map back to the store"),
        default=dict,
        blank=True,
        help_text=_(
            "The orderops status code → the store's status set when an operator changes it; Shopify: "
            "“orderCancel” or “fulfillmentCreate”, or nothing (a tag only)."
        ),
    )
    hold_notes = models.BooleanField(
        _("hold notes in the store"),
        default=True,
        help_text=_(
            "Taking, transferring and releasing an order writes a private note (WooCommerce, Magento) or a "
            "tag orderops:<username> (Shopify) in the store."
        ),
    )
    notify_customer = models.BooleanField(
        _("let the store notify the customer"),
        default=False,
        help_text=_(
            "Shopify only: a cancellation or fulfilment made from orderops lets Shopify email the customer. "
            "Notes and tags are never customer-visible."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    # The store's updated_at up to which a poll has applied every order (sync_orders starts from here).
    sync_cursor = models.DateTimeField(_("synchronised up to"), null=True, blank=True)
    last_sync_at = models.DateTimeField(_("last sync"), null=True, blank=True)
    last_delivery_at = models.DateTimeField(_("last delivery"), null=True, blank=True)
    # Deliveries refused for a missing or wrong signature (a wrong secret shows here first); nothing else of
    # theirs is kept.
    signature_failures = models.PositiveIntegerField(_("refused signatures"), default=0, editable=False)
    last_signature_failure_at = models.DateTimeField(
        _("last refused signature"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("connected"), default=timezone.now, editable=False)

    SECRET_FIELDS = ("webhook_secret", "api_key", "api_secret", "access_token")

    class Meta:
        ordering = ["name", "slug"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        # Never the secrets: a repr ends up in logs and tracebacks.
        return f"<Store {self.slug} ({self.platform})>"

    def save(self, **kwargs) -> None:
        if self._state.adding and not self.status_map:
            self.status_map = dict(DEFAULT_STATUS_MAPS.get(self.platform, {}))
        if self._state.adding and not self.reverse_status_map:
            self.reverse_status_map = dict(DEFAULT_REVERSE_STATUS_MAPS.get(self.platform, {}))
        adding = self._state.adding
        super().save(**kwargs)
        if adding:
            # The console shows each order's store once there are several (stores.selectors).
            cache.delete("orderops:stores:several")

    @property
    def platform_label(self) -> str:
        return Platform(self.platform).label

    def status_for(self, store_status: str) -> str | None:
        """The orderops status code the store's map names for `store_status`, or None."""
        value = (self.status_map or {}).get(store_status)
        return value if isinstance(value, str) and value else None

    def store_status_for(self, status_code: str) -> str | None:
        """What the store's reverse map names for the orderops status `status_code`, or None."""
        value = (self.reverse_status_map or {}).get(status_code)
        return value if isinstance(value, str) and value else None

    @property
    def webhook_path(self) -> str:
        return reverse("store_webhook", kwargs={"slug": self.slug})

    @property
    def webhook_url(self) -> str:
        """The address to register in the store's admin: ORDEROPS_STORES["WEBHOOK_BASE_URL"] and the path."""
        return stores_setting("WEBHOOK_BASE_URL").rstrip("/") + self.webhook_path

    def order_admin_url(self, external_id: str) -> str:
        """The order's page in the store's own admin."""
        base = self.base_url.rstrip("/")
        if self.platform == Platform.SHOPIFY:
            return f"{base}/admin/orders/{external_id}"
        if self.platform == Platform.WOOCOMMERCE:
            return f"{base}/wp-admin/post.php?post={external_id}&action=edit"
        return f"{base}/admin/sales/order/view/order_id/{external_id}/"


class Delivery(models.Model):
    """One signed webhook delivery, kept in the transaction of its effect: the inbox.

    `key` is unique per store, so a delivery that arrives twice (a retry, two connections at once) is
    applied once: Shopify's X-Shopify-Event-Id; WooCommerce's order id with its date_modified_gmt (its
    delivery id is not unique).
    """

    class State(models.TextChoices):
        APPLIED = "applied", _("applied")
        UNCHANGED = "unchanged", _("unchanged")
        STALE = "stale", _("stale")
        FAILED = "failed", _("failed")
        # Kept, not applied: the topic carries no order (a product's, a customer's).
        IGNORED = "ignored", _("ignored")

    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        related_name="deliveries",
        verbose_name=_("store"),
        db_index=False,  # the unique (store, key) and delivery_store_state_idx start with store
    )
    key = models.CharField(_("key"), max_length=200)
    topic = models.CharField(_("topic"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    error = models.TextField(_("error"), blank=True)
    body = models.TextField(_("body"))
    # What the platform said about the delivery beside the body (Shopify's event, webhook and triggered-at
    # headers; WooCommerce's webhook and delivery ids), for tracing a delivery in the store's own logs.
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("order"),
    )
    # The order's number in the store, when the body named it (also for a delivery that failed).
    order_number = models.CharField(_("order number"), max_length=64, blank=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["store", "key"], name="delivery_store_key_uniq")]
        indexes = [
            # The admin's failed deliveries of a store, newest first; replay_deliveries --failed.
            models.Index(fields=["store", "state", "received_at"], name="delivery_store_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}:{self.key}"


class StoreChange(models.Model):
    """One change made in orderops to a store's order, waiting to be written back to the store: the outbox.

    Written in the change's own transaction (stores.writeback receives the domain events), so a rolled-back
    change writes none; sent by `send_to_stores` (stores/outbox.py), one order's changes in the order they
    were made. `steps_done` counts the calls of a change that the store has taken (a status PUT, then its
    note): a retry starts after them, so a note that reached the store is never sent again.
    """

    class Kind(models.TextChoices):
        STATUS = "status", _("status")
        HOLD = "hold", _("hold")
        ADDRESS = "address", _("address and phone")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        DEAD = "dead", _("given up")

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order"), db_index=False
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="changes", verbose_name=_("store"), db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # What to send, as it was when the change was made (a retry sends the same): the status and the store
    # status it maps to, the hold's action and people, the address.
    payload = models.JSONField(_("payload"), default=dict)
    # The store's status this change sets, for recognising the store's echo of it (stores.services).
    store_status = models.CharField(_("store status"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claim = models.CharField(_("claimed by"), max_length=64, blank=True)
    steps_done = models.PositiveSmallIntegerField(_("calls done"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    failed_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    created_at = models.DateTimeField(_("made"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("change for the store")
        verbose_name_plural = _("changes for the store")
        indexes = [
            # The claim: pending changes by when they are due.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="storechange_due_idx",
                condition=models.Q(state="pending"),
            ),
            # An order's changes in their order (the claim's "no earlier unsent change", the echo check).
            models.Index(fields=["order", "id"], name="storechange_order_idx"),
            # A store's health: its pending and dead changes, its last sends.
            models.Index(fields=["store", "state", "id"], name="storechange_store_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"
