"""Holds on orders (Assignment) and their append-only history (AssignmentLog)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orderops.models import AppendOnly
from orders.models import Order


class OrderCreatedAtCopy(models.DateTimeField):
    """The held order's created_at, copied onto its hold so that "held by X, newest order first" is one
    index range (operator, order_created_at, order) instead of a sort of all that operator's holds by the
    orders' own column (bench/RESULTS.md). Filled on save() and bulk_create() from the order when not given;
    the services' INSERT ... SELECT copies it; a database trigger keeps it equal when an order's created_at
    changes (an import can change it; see migration 0004)."""

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value is None:
            value = model_instance.order.created_at
            setattr(model_instance, self.attname, value)
        return value


class Assignment(models.Model):
    """An order's current hold. The row exists exactly while the order is held."""

    # One-to-one is a UNIQUE constraint on order_id: the database itself refuses a second holder.
    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, related_name="assignment", verbose_name=_("order")
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="held_assignments",
        verbose_name=_("held by"),
        db_index=False,  # assignment_operator_idx starts with operator
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="given_assignments",
        verbose_name=_("assigned by"),
    )
    assigned_at = models.DateTimeField(_("assigned at"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    order_created_at = OrderCreatedAtCopy(_("order created at"), editable=False)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        permissions = [
            ("override_hold", _("Can edit and release orders held by others, and take them over")),
            ("assign_others", _("Can assign orders to other operators")),
            ("hold_orders", _("Can take orders and be given them (an Operator or a Supervisor)")),
        ]
        indexes = [
            # "Held by X" (the operator filter, "mine", capacity counts, workload), oldest hold first.
            models.Index(fields=["operator", "assigned_at"], name="assignment_operator_idx"),
            # "Held by X" in the order list, newest order first (read backwards), 100 rows a page.
            models.Index(
                fields=["operator", "order_created_at", "order"], name="assignment_operator_order_idx"
            ),
            # Expiry: holds idle since before a cut-off.
            models.Index(fields=["last_activity_at"], name="assignment_idle_idx"),
        ]

    def __str__(self) -> str:
        return _("%(order)s held by %(operator)s") % {"order": self.order, "operator": self.operator}


class AssignmentLog(AppendOnly):
    """One change of an order's hold. Written in the same transaction as the change; never edited."""

    class Action(models.TextChoices):
        ASSIGNED = "assigned", _("assigned")
        RELEASED = "released", _("released")
        TAKEN_OVER = "taken_over", _("taken over")
        REASSIGNED = "reassigned", _("reassigned")
        AUTO_RELEASED = "auto_released", _("auto-released")
        EXPIRED = "expired", _("expired")

    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        related_name="assignment_log",
        verbose_name=_("order"),
        db_index=False,  # assignmentlog_order_idx starts with order
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assignment_log",
        verbose_name=_("operator"),
        db_index=False,  # assignmentlog_operator_idx starts with operator
        help_text=_("Whose hold it was (released, expired) or became (assigned, taken over, reassigned)."),
    )
    previous_operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("previous holder"),
        help_text=_("Whose hold it was before a take-over or reassignment."),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignment_log_actions",
        verbose_name=_("by"),
        help_text=_("Who did it; empty when the system did (expiry, commands)."),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("assignment log entry")
        verbose_name_plural = _("assignment log")
        indexes = [
            # The order's timeline, oldest first.
            models.Index(fields=["order", "at", "id"], name="assignmentlog_order_idx"),
            # One operator's history (workload: taken and released today).
            models.Index(fields=["operator", "at"], name="assignmentlog_operator_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order} {self.get_action_display()} {self.operator}"
