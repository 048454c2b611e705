"""Orders, their lines, the configurable statuses and internal comments."""

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from orderops.db import id_set
from orderops.models import AppendOnly
from orders.search_text import SEARCH_SOURCE_FIELDS, search_text_of
from orders.signals import order_status_changed
from orders.validators import CurrencyCodeValidator, at_least_one, not_negative, validate_order_number

# The default statuses' labels (migration 0002), in the catalogue: a status keeps the label its store gave
# it, and a label that is one of these reads in the viewer's language.
DEFAULT_STATUS_LABELS = [
    pgettext_lazy("order status", "Pending"),
    pgettext_lazy("order status", "Processing"),
    pgettext_lazy("order status", "On hold"),
    pgettext_lazy("order status", "Complete"),
    pgettext_lazy("order status", "Closed"),
    pgettext_lazy("order status", "Canceled"),
]


class StatusLabelField(models.CharField):
    """A status's label as stored, read as a lazy translation (context "order status"): shown in the viewer's
    language when the catalogue has it (the default statuses), unchanged when it does not (a store's own)."""

    def from_db_value(self, value, expression, connection):
        return pgettext_lazy("order status", value) if value else value

    def deconstruct(self):
        # A CharField in the database and the migrations: only reading differs.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs


class OrderStatus(models.Model):
    code = models.SlugField(_("code"), max_length=32, primary_key=True)
    label = StatusLabelField(_("label"), max_length=64)
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
        return str(self.label)


class OrderQuerySet(models.QuerySet):
    """Order writes that skip save() still keep the order's search row (OrderSearch, orders/search_text)."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            # The ids are known now (PostgreSQL and SQLite return them): one more INSERT of the search rows.
            order_search_write(
                {order.pk: search_text_of(order) for order in created if order.pk is not None}, using=self.db
            )
        return created

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            updated = super().bulk_update(objs, fields, *args, **kwargs)
            if set(fields) & set(SEARCH_SOURCE_FIELDS):
                order_search_write({order.pk: search_text_of(order) for order in objs}, using=self.db)
        return updated

    def update(self, **kwargs):
        """An update of a searched column re-reads the rows it wrote and writes their search rows (one more
        read of those rows); any other update (a status change, a hold) never touches the search rows."""
        if not set(kwargs) & set(SEARCH_SOURCE_FIELDS):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            ids = list(self.values_list("pk", flat=True))
            updated = super().update(**kwargs)
            orders_search_refresh(Order._base_manager.using(self.db).filter(pk__in=ids))
        return updated

    update.alters_data = True  # type: ignore[attr-defined]

    def update_searched(self, search_texts: Mapping[int, str], **kwargs) -> int:
        """update() by a caller that wrote searched columns and computed the search text of each row it
        writes ({order id: text}): the search rows are written with them, without reading the rows back."""
        with transaction.atomic(using=self.db, savepoint=False):
            updated = super().update(**kwargs)
            order_search_write(search_texts, using=self.db)
        return updated

    update_searched.alters_data = True  # type: ignore[attr-defined]


def order_search_write(search_texts: Mapping[int, str], *, using: str = DEFAULT_DB_ALIAS) -> int:
    """Write the search rows of these orders ({order id: text}) in one statement: created where missing,
    rewritten where their text (or their copy of the order's created_at) differs, untouched where it agrees.
    Returns how many were written. "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT,
    not to the join."""
    if not search_texts:
        return 0
    connection = connections[using]
    table = OrderSearch._meta.db_table
    if connection.vendor == "postgresql":
        rows = "SELECT * FROM unnest(%s::bigint[], %s::text[]) AS given (id, text)"
        params: list[Any] = [list(search_texts), list(search_texts.values())]
    else:
        # SQLite: the rows as one JSON parameter, whatever their number (no limit on bound variables).
        rows = (
            "SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS text FROM json_each(%s)"
        )
        params = [json.dumps(list(search_texts.items()))]
    orders = Order._meta.db_table
    # Each row takes its order's created_at from the order as written (the sort of a search's page,
    # orders.selectors.orders_search_rows); a change of it afterwards reaches the row by a trigger
    # (orders/triggers.py).
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (order_id, text, order_created_at)"
            f" SELECT written.id, written.text, o.created_at FROM ({rows}) AS written"
            f" JOIN {orders} o ON o.id = written.id WHERE true"
            f" ON CONFLICT (order_id) DO UPDATE"
            f" SET text = excluded.text, order_created_at = excluded.order_created_at"
            f" WHERE {table}.text <> excluded.text"
            f" OR {table}.order_created_at {differs} excluded.order_created_at",
            params,
        )
        return cursor.rowcount


def orders_search_stale(
    orders: list["Order"], *, using: str = DEFAULT_DB_ALIAS
) -> tuple[dict[int, str], set[int]]:
    """Of these orders (loaded with their searched columns and created_at), the search texts to write ({order
    id: text}: their row is missing, or disagrees in its text or its copy of created_at), and the ids of those
    whose row is missing."""
    stored = {
        order_id: (text, created_at)
        for order_id, text, created_at in OrderSearch.objects.using(using)
        .filter(order_id__in=id_set(order.pk for order in orders))
        .values_list("order_id", "text", "order_created_at")
    }
    stale = {
        order.pk: text
        for order in orders
        if stored.get(order.pk) != ((text := search_text_of(order)), order.created_at)
    }
    return stale, {pk for pk in stale if pk not in stored}


def orders_search_refresh(queryset) -> int:
    """Write the search rows of the orders of `queryset` that are missing or disagree; return how many."""
    stale, _missing = orders_search_stale(
        list(queryset.only("pk", "created_at", *SEARCH_SOURCE_FIELDS).order_by("pk")), using=queryset.db
    )
    return order_search_write(stale, using=queryset.db)


class Order(models.Model):
    # The number the store shows (Shopify "#1001", WooCommerce number, Magento increment_id): unique per
    # store, and among the orders that came from no store (files, the API).
    number = models.CharField(_("number"), max_length=32, validators=[validate_order_number])
    # The connected store the order came from (stores.Store); empty for orders from files and the API. The
    # orders app names the model only by its label: it never imports the stores app.
    store = models.ForeignKey(
        "stores.Store",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="orders",
        verbose_name=_("store"),
        db_index=False,  # order_store_number_uniq and order_store_external_uniq start with store
    )
    # The order's id in its store (Shopify id, WooCommerce id, Magento entity_id), unique per store.
    external_id = models.CharField(
        _("id in the store"), max_length=64, blank=True, editable=False, db_default=""
    )
    # The store's own updated_at (WooCommerce date_modified_gmt) of the copy applied last: a delivery older
    # than this is stale and changes nothing.
    store_updated_at = models.DateTimeField(_("updated in the store"), null=True, blank=True, editable=False)
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
    grand_total = models.DecimalField(
        _("grand total"), max_digits=12, decimal_places=2, default=0, validators=[not_negative]
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[CurrencyCodeValidator()]
    )
    shipping_name = models.CharField(_("ship to"), max_length=200, blank=True)
    shipping_street = models.CharField(_("street"), max_length=255, blank=True)
    shipping_city = models.CharField(_("city"), max_length=100, blank=True)
    shipping_postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    shipping_country = models.CharField(_("country"), max_length=2, blank=True)
    # What an operator needs at a glance, as the store words it.
    # db_default as well: rows written by raw SQL or COPY (the benchmarks' loaders) name none of them.
    payment_status = models.CharField(_("payment status"), max_length=32, blank=True, db_default="")
    fulfillment_status = models.CharField(_("fulfilment status"), max_length=32, blank=True, db_default="")
    shipping_method = models.CharField(_("shipping method"), max_length=255, blank=True, db_default="")
    shipping_total = models.DecimalField(
        _("shipping"), max_digits=12, decimal_places=2, default=0, db_default=0, validators=[not_negative]
    )
    tax_total = models.DecimalField(
        _("tax"), max_digits=12, decimal_places=2, default=0, db_default=0, validators=[not_negative]
    )
    discount_total = models.DecimalField(
        _("discount"), max_digits=12, decimal_places=2, default=0, db_default=0, validators=[not_negative]
    )
    customer_note = models.TextField(_("customer's note"), blank=True, db_default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Incremented by every write to the row (the edit service, the status service, imports, a plain save):
    # a save made from an older version is refused, so that no editor overwrites a change they never saw.
    # db_default: rows written by raw SQL or COPY (the benchmarks' loaders) start at version 1 as well.
    version = models.PositiveIntegerField(_("version"), default=1, db_default=1, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("changed by"),
        help_text=_("Who changed the order last; empty when the system did (imports, commands)."),
    )
    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Related managers and Django's own internals use the base manager: it keeps the search rows too.
        base_manager_name = "objects"
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="order_store_number_uniq"),
            models.UniqueConstraint(
                fields=["number"], condition=models.Q(store__isnull=True), name="order_number_uniq_no_store"
            ),
            models.UniqueConstraint(
                fields=["store", "external_id"],
                condition=~models.Q(external_id=""),
                name="order_store_external_uniq",
            ),
        ]
        indexes = [
            # Look-ups by number whatever the store: the search, links by number, the API.
            models.Index(fields=["number"], name="order_number_idx"),
            # The list filtered by status, newest first; and "oldest order in these statuses" for claim next.
            models.Index(fields=["status", "created_at", "id"], name="order_status_created_idx"),
            # The list's default sort (newest first, read backwards) and the created-date filter.
            models.Index(fields=["created_at", "id"], name="order_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    def save(self, **kwargs) -> None:
        """Save as the system: a new version, its field changes written to the history, and, when the status
        changed, the signal to the other apps in the same transaction (auto-release).

        People's edits go through orders.services.order_update, which checks the version they loaded; this is
        the path of scripts, shells and fixtures. What changed is judged against the row as it is in the
        database, read under its lock: an object loaded before someone else changed the order still records
        (and signals) what its write changes.
        """
        from orders import history  # history imports this module

        using = kwargs.get("using") or router.db_for_write(Order, instance=self)
        if self.pk is None:
            # A new order and its search row, in one transaction (no savepoint: like Django's own save).
            with transaction.atomic(using=using, savepoint=False):
                super().save(**kwargs)
                order_search_write({self.pk: search_text_of(self)}, using=using)
            return
        with transaction.atomic(using=using):
            before = (
                Order._base_manager.using(using).filter(pk=self.pk).select_for_update(no_key=True).first()
            )
            if before is None:
                super().save(**kwargs)
                order_search_write({self.pk: search_text_of(self)}, using=using)
                return
            self.version = before.version + 1
            self.updated_by = None
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version", "updated_by", "updated_at"}
            written = history.FIELDS if update_fields is None else history.fields_among(update_fields)
            changes = history.field_changes(before, {name: getattr(self, name) for name in written})
            super().save(**kwargs)
            # The search row only when a searched column changed: a status change never writes it.
            if set(changes) & set(SEARCH_SOURCE_FIELDS):
                order_search_write({self.pk: search_text_of(self)}, using=using)
            history.changes_record(
                order_id=self.pk, version=self.version, actor=None, at=self.updated_at, changes=changes
            )
            if "status" in changes:
                order_status_changed.send(
                    sender=Order,
                    order_ids=[self.pk],
                    old_status_codes={self.pk: before.status_id},
                    new_status=self.status,
                    actor=None,
                    reason="",
                )


class OrderSearch(models.Model):
    """An order's customer name, email, phone and city as the search compares them (orders/search_text.py),
    one row per order, in a narrow table of its own under the trigram index: a write of the order that
    changes none of them (a status change, a hold) never rewrites this row nor its trigrams. Kept by every
    write path that changes them, in the same transaction; never shown, never in the history; `manage.py
    search_text` finds (and with --fix writes) missing and disagreeing rows."""

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, primary_key=True, related_name="search", verbose_name=_("order")
    )
    text = models.TextField(_("search text"))
    # The order's created_at, so that a search's page is sorted, cut and counted from these rows alone and
    # only the page's orders are read (orders.selectors.orders_search_rows). Written with the row; a change
    # of the order's created_at reaches it by a trigger (orders/triggers.py; `repair_triggers` refills it).
    order_created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("order search text")
        verbose_name_plural = _("order search texts")
        indexes = [
            # The newest search rows first: a common term's page is the first matches found walking it.
            models.Index(fields=["order_created_at", "order"], name="ordersearch_created_idx"),
        ]

    def __str__(self) -> str:
        return self.text


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    qty = models.PositiveIntegerField(_("quantity"), default=1, validators=[at_least_one])
    unit_price = models.DecimalField(
        _("unit price"), max_digits=12, decimal_places=2, default=0, validators=[not_negative]
    )
    # What the store charges for the line (qty x unit price less the line's own discount), as it sent it;
    # empty for lines written by people, files and the API, whose total is qty x unit price.
    line_total = models.DecimalField(
        _("line total"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        editable=False,
        validators=[not_negative],
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return f"{self.qty} x {self.name}"

    @property
    def total(self):
        """The line's total: the store's where it sent one, else qty x unit price."""
        return self.line_total if self.line_total is not None else self.qty * self.unit_price


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


class OrderChange(AppendOnly):
    """One field of an order changed: who, when, the version the write produced, the old and new value.

    Written in the same transaction as the change by every path (orders/history.py); never edited.
    """

    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        related_name="changes",
        verbose_name=_("order"),
        db_index=False,  # orderchange_order_idx starts with order
    )
    version = models.PositiveIntegerField(_("version"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Who changed it; empty when the system did (imports, commands, scripts)."),
    )
    # The connected store that changed it (its webhook, a poll, its file, a replay): the history then reads
    # "Shopify changed status". Stores are deactivated, never deleted, so no index serves a delete.
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
    field = models.CharField(_("field"), max_length=64)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("order change")
        verbose_name_plural = _("order changes")
        indexes = [models.Index(fields=["order", "version", "id"], name="orderchange_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} v{self.version} {self.field}"
