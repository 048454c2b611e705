"""Orders, their lines, the configurable statuses and internal comments."""

from django.conf import settings
from django.db import models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.signals import order_status_changed


class OrderStatus(models.Model):
    code = models.SlugField(_("code"), max_length=32, primary_key=True)
    label = models.CharField(_("label"), max_length=64)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    releases_assignment = models.BooleanField(
        _("releases assignment"),
        default=False,
        help_text=_("Entering this status ends the order's hold (e.g. complete, canceled, closed)."),
    )

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("order status")
        verbose_name_plural = _("order statuses")

    def __str__(self) -> str:
        return self.label


class Order(models.Model):
    number = models.CharField(_("number"), max_length=32, unique=True)
    status = models.ForeignKey(
        OrderStatus,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("status"),
        db_index=False,  # order_status_created_idx starts with status and serves every lookup by it
    )
    customer_name = models.CharField(_("customer name"), max_length=200)
    customer_email = models.EmailField(_("customer email"), blank=True)
    customer_phone = models.CharField(_("customer phone"), max_length=40, blank=True)
    grand_total = models.DecimalField(_("grand total"), max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    shipping_name = models.CharField(_("ship to"), max_length=200, blank=True)
    shipping_street = models.CharField(_("street"), max_length=255, blank=True)
    shipping_city = models.CharField(_("city"), max_length=100, blank=True)
    shipping_postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    shipping_country = models.CharField(_("country"), max_length=2, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            # The list filtered by status, newest first; and "oldest order in these statuses" for claim next.
            models.Index(fields=["status", "created_at", "id"], name="order_status_created_idx"),
            # The list's default sort (newest first, read backwards) and the created-date filter.
            models.Index(fields=["created_at", "id"], name="order_created_idx"),
        ]

    # Who is saving this order: set by the services so that the status-change signal names them. A save
    # that nobody set it for (a shell, a script) is the system's.
    changed_by = None

    def __str__(self) -> str:
        return f"#{self.number}"

    def save(self, **kwargs) -> None:
        """Save; when the status changed, tell the other apps in the same transaction (auto-release).

        "Changed" is judged against the row as it is in the database, read under its lock: an object loaded
        before someone else changed the status must still send the signal when it writes a status back.
        """
        update_fields = kwargs.get("update_fields")
        writes_status = self.pk is not None and (
            update_fields is None or "status" in update_fields or "status_id" in update_fields
        )
        using = kwargs.get("using") or router.db_for_write(Order, instance=self)
        with transaction.atomic(using=using):
            old_status_code = None
            if writes_status:
                old_status_code = (
                    Order._base_manager.using(using)
                    .filter(pk=self.pk)
                    .select_for_update(no_key=True)
                    .values_list("status_id", flat=True)
                    .first()
                )
            super().save(**kwargs)
            if old_status_code is not None and old_status_code != self.status_id:
                order_status_changed.send(
                    sender=Order,
                    order_ids=[self.pk],
                    old_status_codes={self.pk: old_status_code},
                    new_status=self.status,
                    actor=self.changed_by,
                    reason="",
                )


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    qty = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2, default=0)

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return f"{self.qty} x {self.name}"


class OrderComment(models.Model):
    """An internal note on an order. Never shown to customers."""

    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        related_name="comments",
        verbose_name=_("order"),
        db_index=False,  # comment_timeline_idx starts with order
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="order_comments",
        verbose_name=_("author"),
    )
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("internal comment")
        verbose_name_plural = _("internal comments")
        indexes = [models.Index(fields=["order", "created_at", "id"], name="comment_timeline_idx")]

    def __str__(self) -> str:
        return _("Comment by %(author)s on %(order)s") % {"author": self.author, "order": self.order}
