"""Orders: the list (filters, cursor pages, each order's hold, version and powers), one order with its ETag,
the guarded edit (PATCH with If-Match, through orders.services.order_update), and the store's ingest
(POST to create, PUT to upsert, through the import's validator and write service)."""

from collections import Counter
from datetime import UTC
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView, StrictSerializer
from api.conf import api_setting
from api.permissions import MayIngestOrders
from api.problems import ApiCode, ApiProblem, ambiguous_number_problem, refusal_problem
from api.selectors import order_powers, orders_with_holds
from operators import rules
from operators.selectors import HoldQueue, orders_in_queue
from orders.importing import QTY_LIMIT, order_record_validate, orders_import
from orders.models import Order, OrderLine, OrderStatus
from orders.results import Code, RequestRefused, user_display_name
from orders.selectors import orders_by_number, orders_search
from orders.services import order_update
from orders.validators import at_least_one, not_negative

# --- what an order looks like -----------------------------------------------------------------------------


class HoldSerializer(serializers.Serializer):
    holder = serializers.CharField(source="operator.username")
    holder_name = serializers.SerializerMethodField()
    assigned_by = serializers.CharField(source="assigned_by.username")
    since = serializers.DateTimeField(source="assigned_at")

    def get_holder_name(self, assignment) -> str:
        return user_display_name(assignment.operator)


class PowerRefusalSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class PowersSerializer(serializers.Serializer):
    edit = PowerRefusalSerializer(allow_null=True)
    assign = PowerRefusalSerializer(allow_null=True)
    release = PowerRefusalSerializer(allow_null=True)
    take_over = PowerRefusalSerializer(allow_null=True)
    transfer = PowerRefusalSerializer(allow_null=True)
    comment = PowerRefusalSerializer(allow_null=True)


class StoreSerializer(serializers.Serializer):
    """The connected store an order came from."""

    slug = serializers.CharField()
    name = serializers.CharField()
    platform = serializers.ChoiceField(choices=["shopify", "woocommerce", "magento"])


ORDER_FIELDS = (
    "number",
    "store",
    "external_id",
    "store_updated_at",
    "store_order_url",
    "status",
    "status_label",
    "customer_name",
    "customer_email",
    "customer_phone",
    "customer_note",
    "grand_total",
    "shipping_total",
    "tax_total",
    "discount_total",
    "currency",
    "payment_status",
    "fulfillment_status",
    "shipping_method",
    "shipping_name",
    "shipping_street",
    "shipping_city",
    "shipping_postcode",
    "shipping_country",
    "created_at",
    "updated_at",
    "version",
    "hold",
    "powers",
)

# What the fields from a connected store mean (issue 22's; empty or null for orders from files and the API).
STORE_FIELD_HELP = {
    "external_id": 'The order\'s id in its store (Shopify id, WooCommerce id, Magento entity_id); "" for an '
    "order from no store.",
    "store_updated_at": "The store's own updated_at of the copy applied last (null: from no store).",
    "payment_status": 'As the store words it (Shopify financial_status, ...); "" when it sent none.',
    "fulfillment_status": 'As the store words it; "" when it sent none.',
    "shipping_method": 'As the store words it; "" when it sent none.',
    "shipping_total": "Shipping charged, in the order's currency.",
    "tax_total": "Tax charged, in the order's currency.",
    "discount_total": "Discounts given, in the order's currency.",
    "customer_note": "The customer's own note to the shop, as the store sent it.",
}


class OrderSerializer(serializers.ModelSerializer):
    """An order as the API shows it: its fields, its hold, its version and what the caller may do with it
    (None: allowed; otherwise the rule book's refusal)."""

    store = StoreSerializer(
        allow_null=True,
        read_only=True,
        help_text="The connected store the order came from (null: a file or the API). Two stores may "
        "both have an order #1001: ?store=SLUG says which.",
    )
    store_order_url = serializers.SerializerMethodField()
    status = serializers.CharField(source="status_id")
    status_label = serializers.CharField(source="status.label")
    hold = serializers.SerializerMethodField()
    powers = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields: tuple[str, ...] = ORDER_FIELDS
        extra_kwargs = {name: {"help_text": text} for name, text in STORE_FIELD_HELP.items()}

    @extend_schema_field(
        {
            "type": "string",
            "description": 'The order\'s page in its store\'s own admin ("Open in Shopify"); "" for an '
            "order from no store.",
        }
    )
    def get_store_order_url(self, order: Order) -> str:
        if order.store is None or not order.external_id:
            return ""
        return order.store.order_admin_url(order.external_id)

    @extend_schema_field(HoldSerializer(allow_null=True))
    def get_hold(self, order: Order) -> dict | None:
        assignment = getattr(order, "assignment", None)
        return HoldSerializer(assignment).data if assignment is not None else None

    @extend_schema_field(PowersSerializer)
    def get_powers(self, order: Order) -> dict[str, dict | None]:
        return order_powers(self.context["request"].user, order)


class LineSerializer(serializers.ModelSerializer):
    total = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        help_text="The line's total: the store's line_total where it sent one, else qty x unit_price.",
    )

    class Meta:
        model = OrderLine
        fields = ("id", "sku", "name", "qty", "unit_price", "line_total", "total")
        extra_kwargs = {
            "line_total": {
                "help_text": "What the store charges for the line (after the line's own discount), as it "
                "sent it; null for lines from people, files and the API."
            }
        }


class OrderDetailSerializer(OrderSerializer):
    lines = LineSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = (*ORDER_FIELDS, "lines")


def order_read(number: str, *, store: str | None = None, order_id: int | None = None) -> Order:
    """The order with its hold and lines, by its number (`store`: a store's slug, "" for no store, when
    connected stores share the number) or by `order_id`; a 404 or a 409 (several stores) naming it."""
    orders = orders_with_holds().prefetch_related("lines")
    found: list[Order] = []
    if order_id is not None:
        found = list(orders.filter(pk=order_id))
    elif "\x00" not in number:  # no order has one, and PostgreSQL refuses it in a query
        found = list(orders_by_number(orders, number, store)[:2])
    if not found:
        raise ApiProblem(404, Code.NOT_FOUND, _("There is no order #%(number)s.") % {"number": number})
    if len(found) > 1:
        raise ambiguous_number_problem(number)
    return found[0]


def etag(order: Order) -> str:
    return f'"{order.version}"'


def order_response(request: Request, order: Order, *, status: int = 200) -> Response:
    response = Response(OrderDetailSerializer(order, context={"request": request}).data, status=status)
    response["ETag"] = etag(order)
    return response


# --- the list -------------------------------------------------------------------------------------------


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time, compared in UTC: PostgreSQL refuses an offset beyond ±15:59 that Python reads. A
    filter given empty (`created_after=`) is no time: refused as any other value it cannot take, not
    ignored (the list would answer as if no filter had been asked for)."""

    empty_values = [None]

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError(_("This time is out of range."), code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ModelMultipleChoiceFilter(
        field_name="status", to_field_name="code", queryset=OrderStatus.objects.all()
    )
    held = django_filters.ChoiceFilter(
        choices=[("mine", "mine"), ("unassigned", "unassigned"), ("others", "others")], method="held_filter"
    )
    operator = django_filters.CharFilter(field_name="assignment__operator__username")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = UtcIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    q = django_filters.CharFilter(method="search", max_length=200)

    class Meta:
        model = Order
        fields: list[str] = []

    def held_filter(self, queryset, name: str, value: str):
        return orders_in_queue(queryset, HoldQueue(value), user=self.request.user)

    def search(self, queryset, name: str, value: str):
        return orders_search(queryset, value)


class OrderPageSerializer(serializers.Serializer):
    """A page of the list: its orders, and the links to the pages around it (null at either end)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderSerializer(many=True)


class OrderCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"

    def get_page_size(self, request):
        self.page_size = api_setting("PAGE_SIZE")
        self.max_page_size = api_setting("MAX_PAGE_SIZE")
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
            # DRF would ignore it and answer a page of the default size: a filter the list does not take.
            message = _("must be a whole number of 1 or more (at most %(max)s)") % {"max": self.max_page_size}
            raise ApiProblem(
                400,
                Code.INVALID_INPUT,
                _("The request was refused and nothing was changed: %(errors)s")
                % {"errors": f"page_size: {message}"},
                errors=[{"field": "page_size", "message": message}],
            )
        return super().get_page_size(request)

    def decode_cursor(self, request):
        # DRF answers a cursor it cannot read with 404; the list exists, the request is what is wrong.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ApiProblem(
                400,
                Code.INVALID_INPUT,
                _("The cursor is not one this list gave out: start again from the first page."),
            ) from None


# --- the ingest: the import's rules, one order at a time ----------------------------------------------------


def _fields_with_nul(data: Any, path: str = "") -> list[str]:
    """The fields whose text holds a NUL (PostgreSQL cannot store one), named as the import names them:
    `lines[2].sku` for the second line's sku (lines counted from 1)."""
    if isinstance(data, str):
        return [path or "body"] if "\x00" in data else []
    if isinstance(data, dict):
        items = [(f"{path}.{key}" if path else str(key), value) for key, value in data.items()]
        keys_with_nul = [name for name, _value in items if "\x00" in name]
        return keys_with_nul + [name for name, value in items for name in _fields_with_nul(value, name)]
    if isinstance(data, list):
        return [
            name
            for index, value in enumerate(data, start=1)
            for name in _fields_with_nul(value, f"{path}[{index}]")
        ]
    return []


def _ingest(request: Request, data: Any, *, number: str | None) -> tuple[Order, bool]:
    """Validate one order as the import does and write it with the import's service; (order, created). A
    body that is no JSON object is a 400, as on every operation; the import's refusals are 422s."""
    if not isinstance(data, dict):
        raise ApiProblem(
            400,
            Code.INVALID_INPUT,
            _("The body must be a JSON object; nothing was changed."),
            **({"order": number} if number is not None else {}),
        )
    if number is not None and isinstance(data, dict):
        if "number" in data and str(data["number"]) != number:
            raise ApiProblem(
                422,
                Code.INVALID_INPUT,
                _("#%(number)s was not saved: the body names order %(other)s.")
                % {"number": number, "other": data["number"]},
            )
        data = {**data, "number": number}
    with_nul = _fields_with_nul(data)
    if with_nul:
        raise ApiProblem(
            422,
            Code.INVALID_INPUT,
            _("The order was not saved: %(fields)s may not contain a NUL character.")
            % {"fields": ", ".join(with_nul)},
            errors=[{"field": field, "message": _("NUL characters are not allowed.")} for field in with_nul],
        )
    imported, problems = order_record_validate(data)
    if imported is None:
        label = f"#{number}" if number else _("The order")
        raise ApiProblem(
            422,
            Code.INVALID_INPUT,
            _("%(order)s was not saved: %(problems)s")
            % {"order": label, "problems": "; ".join(f"{p.field}: {p.message}" for p in problems)},
            errors=[{"field": p.field, "message": p.message} for p in problems],
        )
    # The API's own orders come from no store: a connected store's order with the same number is another one.
    exists = Order.objects.filter(number=imported.number, store__isnull=True).exists()
    if exists and number is None:
        raise ApiProblem(
            409,
            ApiCode.ALREADY_EXISTS,
            _("#%(number)s already exists: PUT /api/v1/orders/%(number)s updates it.")
            % {"number": imported.number},
        )
    reason = _("sent by %(user)s through the API") % {"user": request.user.get_username()}
    try:
        counts = orders_import(orders=[imported], reason=reason)
    except IntegrityError:
        raise ApiProblem(
            409, ApiCode.ALREADY_EXISTS, _("#%(number)s was created meanwhile.") % {"number": imported.number}
        ) from None
    return order_read(imported.number, store=""), counts.created == 1


class IngestSerializer(serializers.Serializer):
    """An order as a store sends it: the fields and lines of docs/import-format.md."""

    refuses_unknown_fields = True  # as the import's validator does (the schema says so)

    number = serializers.CharField(max_length=32)
    status = serializers.CharField(max_length=32)
    customer_name = serializers.CharField(max_length=200)
    customer_email = serializers.CharField(required=False, allow_blank=True)
    customer_phone = serializers.CharField(required=False, allow_blank=True)
    grand_total = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    currency = serializers.CharField(required=False)
    created_at = serializers.DateTimeField(required=False)
    shipping_name = serializers.CharField(required=False, allow_blank=True)
    shipping_street = serializers.CharField(required=False, allow_blank=True)
    shipping_city = serializers.CharField(required=False, allow_blank=True)
    shipping_postcode = serializers.CharField(required=False, allow_blank=True)
    shipping_country = serializers.CharField(required=False, allow_blank=True)
    lines = serializers.ListField(child=serializers.DictField(), required=False)


class OrderListView(ApiView):
    idempotent = True

    def get_permissions(self):
        if self.request.method == "POST":
            return [MayIngestOrders()]
        return super().get_permissions()

    @extend_schema(
        operation_id="orders_list",
        parameters=[
            OpenApiParameter("status", str, many=True, description="Status codes; repeat for several."),
            OpenApiParameter("held", str, enum=["mine", "unassigned", "others"]),
            OpenApiParameter("operator", str, description="The holder's username."),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME),
            OpenApiParameter("updated_after", OpenApiTypes.DATETIME),
            OpenApiParameter("q", str, description="Number, customer name, email or phone."),
            OpenApiParameter("cursor", str),
            OpenApiParameter("page_size", int),
        ],
        responses=OrderPageSerializer,
    )
    def get(self, request: Request) -> Response:
        orders = OrderFilter(request.query_params, queryset=orders_with_holds(), request=request)
        if not orders.is_valid():
            raise serializers.ValidationError(orders.errors)
        paginator = OrderCursorPagination()
        searched = bool(orders.form.cleaned_data.get("q"))
        # A search's matches come from the trigram index in no useful order: PostgreSQL sorts them all for the
        # page, and would join every match to its status, store and hold first. The page is cut from the
        # orders alone, then its orders are read with their joins (one statement more, a page's size).
        queryset = orders.qs.select_related(None) if searched else orders.qs
        page: list[Order] | None = paginator.paginate_queryset(queryset, request, view=self)
        if searched and page:
            joined = orders_with_holds().in_bulk([order.pk for order in page])
            page = [joined[order.pk] for order in page if order.pk in joined]
        data = OrderSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="orders_create", request=IngestSerializer, responses={201: OrderDetailSerializer}
    )
    def post(self, request: Request) -> Response:
        order, _created = _ingest(request, request.data, number=None)
        response = order_response(request, order, status=201)
        response["Location"] = f"/api/v1/orders/{order.number}/"
        return response


# --- one order ---------------------------------------------------------------------------------------------


def _field(name: str, **kwargs: Any) -> serializers.CharField:
    max_length = Order._meta.get_field(name).max_length  # type: ignore[union-attr]
    return serializers.CharField(max_length=max_length, required=False, **kwargs)


def _line_text(name: str) -> serializers.CharField:
    max_length = OrderLine._meta.get_field(name).max_length  # type: ignore[union-attr]
    return serializers.CharField(max_length=max_length)


class LineInputSerializer(StrictSerializer):
    """One line of the order as the PATCH leaves it. The rules are the console's and import_orders': sku and
    name required, qty at least 1, unit_price 0 or more (the validators of orders/validators.py)."""

    id = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="An existing line of this order, kept and given these values; leave it out for a new line.",
    )
    sku = _line_text("sku")
    name = _line_text("name")
    qty = serializers.IntegerField(max_value=QTY_LIMIT, validators=[at_least_one])
    unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[not_negative],
        help_text='0 or more, at most two decimal places: "12.50".',
    )


LINES_REPLACE = (
    "Replaces the order's lines: the list is every line the order has after the save. An item with `id` "
    "keeps that line of the order, with the values sent; an item without `id` adds a line; a line whose id "
    "is not in the list is deleted, and `[]` deletes them all. Leave `lines` out to keep the lines as they "
    "are. Each item is whole: sku, name, qty (at least 1) and unit_price (0 or more). The lines are then "
    "listed by id: kept lines first, in their old order, then the new ones. The lines count as one field "
    "of the order's history."
)


class OrderPatchSerializer(StrictSerializer):
    """The fields a PATCH may change; the edit guard decides whether the caller may change this order."""

    status = serializers.CharField(max_length=32, required=False)
    customer_name = _field("customer_name")
    customer_email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    customer_phone = _field("customer_phone", allow_blank=True)
    grand_total = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    currency = _field("currency")
    shipping_name = _field("shipping_name", allow_blank=True)
    shipping_street = _field("shipping_street", allow_blank=True)
    shipping_city = _field("shipping_city", allow_blank=True)
    shipping_postcode = _field("shipping_postcode", allow_blank=True)
    shipping_country = _field("shipping_country", allow_blank=True)
    lines = LineInputSerializer(many=True, required=False, help_text=LINES_REPLACE)

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        counts = Counter(line["id"] for line in lines if "id" in line)
        twice = sorted(pk for pk, count in counts.items() if count > 1)
        if twice:
            raise serializers.ValidationError(
                _("line id %(ids)s appears more than once") % {"ids": ", ".join(map(str, twice))}
            )
        return lines


def if_match_version(request: Request, number: str) -> int:
    header = request.headers.get("If-Match")
    if header is None:
        raise ApiProblem(
            428,
            ApiCode.PRECONDITION_REQUIRED,
            _("#%(number)s was not changed: send If-Match with the ETag you read.") % {"number": number},
        )
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise ApiProblem(
            412,
            ApiCode.PRECONDITION_FAILED,
            _("#%(number)s was not changed: If-Match %(header)s is no version of it.")
            % {"number": number, "header": header[:40]},
        )
    return int(text)


class OrderView(ApiView):
    """One order: read it (GET), edit it (PATCH, the holder or a supervisor, If-Match), and the store's
    upsert (PUT, for users the rule book lets ingest). The schema lists GET and PATCH at
    /orders/{number}/ and PUT at /orders/{number} (api.urls): either form answers every method."""

    idempotent = True  # PUT accepts an Idempotency-Key (api.idempotency: only POST and PUT)

    def get_permissions(self):
        if self.request.method == "PUT":
            return [MayIngestOrders()]
        return super().get_permissions()

    @extend_schema(operation_id="orders_read", responses=OrderDetailSerializer)
    def get(self, request: Request, number: str) -> Response:
        order = order_read(number, store=request.query_params.get("store"))
        if request.headers.get("If-None-Match") == etag(order):
            response = Response(status=304)
            response["ETag"] = etag(order)
            return response
        return order_response(request, order)

    @extend_schema(
        operation_id="orders_update",
        description=(
            "Change the order's fields and, with `lines`, its lines, in one save through the edit path the "
            "console uses: only its holder or a supervisor may, from the version the caller read "
            "(`If-Match`: the `ETag`). " + LINES_REPLACE
        ),
        request=OrderPatchSerializer,
        responses=OrderDetailSerializer,
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True)],
    )
    def patch(self, request: Request, number: str) -> Response:
        order_id = self.order_id(number, permission=rules.edit_refusal)
        version = if_match_version(request, number)
        changes = dict(self.body(OrderPatchSerializer, number=number))
        lines = changes.pop("lines", None)
        try:
            order_update(
                actor=request.user, order_id=order_id, version=version, changes=changes, replace_lines=lines
            )
        except RequestRefused as refused:
            raise refusal_problem(refused, order=number) from None
        return order_response(request, order_read(number, order_id=order_id))

    @extend_schema(
        operation_id="orders_upsert",
        request=IngestSerializer,
        responses={200: OrderDetailSerializer, 201: OrderDetailSerializer},
    )
    def put(self, request: Request, number: str) -> Response:
        order, created = _ingest(request, request.data, number=number)
        return order_response(request, order, status=201 if created else 200)
