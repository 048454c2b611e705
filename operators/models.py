"""Holds on orders (Assignment) and their append-only history (AssignmentLog)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orderops.models import AppendOnly
from orders.models import Order, OrderStatus


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
            # The holds list (console/admin_log.py), newest first (read backwards), a page at a time:
            # without it every page sorted every hold (363 ms at 50,000 holds).
            models.Index(fields=["assigned_at", "id"], name="assignment_assigned_idx"),
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
    # The connected store whose change did it (a final status from Shopify ends the hold: "auto-released by
    # Shopify"). Stores are deactivated, never deleted, so no index serves a delete.
    store = models.ForeignKey(
        "stores.Store",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by store"),
        db_index=False,
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
            # Claim next's "released by this operator in the last minutes" (orders_let_go_recently_sql): the
            # releases alone, not every hold the operator took meanwhile (a busy claimer writes hundreds).
            models.Index(
                fields=["operator", "at"],
                name="assignmentlog_released_idx",
                condition=models.Q(action="released"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} {self.get_action_display()} {self.operator}"


class FreeOrder(models.Model):
    """An order nobody holds: one narrow row per free order, with the two columns of the order that the queue
    of free orders sorts and filters on. The row exists exactly while its order exists and has no hold.

    Kept by database triggers (operators/triggers/free_orders.py) in the same statement as every write of a
    hold or of an order's status or created_at, whatever path wrote it; anything else writing the table is
    made to agree first. So a hold change writes this narrow row and never the order's own (wide, with the
    search's GIN index among its eight indexes). Claim next, the "unassigned" and "open" queues and the
    backlog read it; verify_assignment_log and the operators.E001 check compare it with the holds. Never
    written by Python."""

    order = models.OneToOneField(
        Order,
        on_delete=models.DO_NOTHING,  # its trigger deletes the row with the order
        db_constraint=False,  # the triggers keep it: a foreign key would only add a lock per free row written
        primary_key=True,
        related_name="free_entry",
        verbose_name=_("order"),
    )
    status = models.ForeignKey(
        OrderStatus,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # free_order_front_idx starts with it
        related_name="+",
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        db_table = "operators_free_order"
        default_permissions = ()
        verbose_name = _("free order")
        verbose_name_plural = _("free orders")
        indexes = [
            # The queue of free orders: per status, oldest first (claim next reads its front).
            models.Index(fields=["status", "created_at", "order"], name="free_order_front_idx"),
        ]

    def __str__(self) -> str:
        return f"free: {self.order_id}"


class OperatorHoldCount(models.Model):
    """A change of how many orders an operator holds: their count is the sum of their rows, kept equal to
    the holds table by database triggers (migration 0008, operators/migrations/_hold_count.py) in the same
    statement as the holds, whatever wrote them, so that the workload page and the queue counts sum a few
    hundred rows instead of counting 500,000 holds. Rows are only inserted (nothing waits for a counter) and
    folded into one per operator every 1,000 rows. `operators.verification.hold_count_differences` compares
    the counts with a full count. Never written by the application."""

    # No foreign key: a counter row must not stop a user from being deleted (their holds already do).
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # read whole: the table is a few hundred rows
        related_name="+",
        verbose_name=_("operator"),
    )
    held = models.IntegerField(_("change of orders held"))

    class Meta:
        db_table = "operators_hold_count"
        verbose_name = _("operator hold count")
        verbose_name_plural = _("operator hold counts")

    def __str__(self) -> str:
        return f"{self.operator_id}: {self.held:+}"


class OperatorActivityCount(models.Model):
    """How many holds an operator took and ended in one quarter of an hour (UTC), counted from the log:
    their counts for a quarter are the sum of its rows, kept with the log by a database trigger (migration
    0008) in the same statement as each log row, so that "taken and released today" sums at most a few
    rows per operator and quarter instead of counting the day's log. Quarters of an hour, so that any time
    zone's midnight starts one. Rows are only inserted, and folded every 1,000. Never written by the
    application."""

    PERIOD = 15 * 60  # seconds; every UTC offset in use is a multiple of it

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("operator"),
    )
    period_start = models.DateTimeField(_("from"), db_index=True)
    taken = models.IntegerField(_("taken"))  # assigned, taken over, reassigned to them
    released = models.IntegerField(_("released"))  # released, auto-released, expired

    class Meta:
        db_table = "operators_activity_count"
        verbose_name = _("operator activity count")
        verbose_name_plural = _("operator activity counts")

    def __str__(self) -> str:
        return f"{self.operator_id} {self.period_start}: +{self.taken} -{self.released}"


class OperatorPreference(models.Model):
    """A person's language and time zone for the console and their notification emails. Blank means "not
    chosen": the browser's language (Accept-Language) and the site's TIME_ZONE. Here, below the surfaces,
    so that live/ (which writes the emails) reads it as the console does."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="operator_preference",
        verbose_name=_("user"),
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)

    class Meta:
        db_table = "operators_preference"
        verbose_name = _("language and time zone")
        verbose_name_plural = _("languages and time zones")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language or '-'} {self.time_zone or '-'}"


class LoginFailure(models.Model):
    """One failed login to the console or failed authentication to the API, kept for the login throttle's
    window (operators/login_throttle.py): the rows of the last ORDEROPS["LOGIN_FAILURE_WINDOW"] seconds,
    counted per username and per address, decide whether the next attempt is even tried. In the database so
    that every worker and host counts the same failures without Redis."""

    username = models.CharField(_("username"), max_length=150, blank=True)  # "" for an unknown API key
    address = models.CharField(_("address"), max_length=45)
    surface = models.CharField(_("surface"), max_length=10)  # "console" or "api"
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"], name="login_failure_username_idx"),
            models.Index(fields=["address", "at"], name="login_failure_address_idx"),
            models.Index(fields=["at"], name="login_failure_at_idx"),
        ]
        verbose_name = _("failed login")
        verbose_name_plural = _("failed logins")

    def __str__(self) -> str:
        return f"{self.surface} {self.username or '-'}@{self.address} {self.at:%Y-%m-%d %H:%M:%S}"
