"""No 500 from input (issue 26, finding 6): every URL of the site (each route of the resolver, its parameters
filled with real ids and with hostile values), every filter of the console's lists, every form the console
serves and every API path, fed NUL bytes, values of the wrong type, huge numbers, markup, CRLF and deeply
nested JSON. Nothing answers a server error; a NUL is a 400 wherever it comes (problem+json under /api/, the
console's own page elsewhere, saying why); an unknown API path and an oversized API body are problem+json.
Run on PostgreSQL too: it refuses a NUL in a query, SQLite does not."""

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from api.keys import api_key_create
from api.models import ApiKey
from live.models import Notification
from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orders.models import Order, OrderComment, OrderStatus
from tests.factories import OrderCommentFactory, OrderFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

# What an attacker types where an id, a number or a name goes.
# What an attacker types where an id, a number or a name goes (few: every route gets each, by two users).
HOSTILE_SEGMENTS = ["1\x00", "99999999999999999999999", "1' OR '1'='1", "²"]
# ... and into query strings and form fields.
HOSTILE_VALUES = [
    "a\x00b",
    "99999999999999999999999",
    "-1",
    "9999-12-31T23:59:59-23:59",
    "<script>alert(1)</script>\r\nBcc: someone@example.com",
    "²" * 2000,
]
NUL = "\x00"
PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>")


def routes() -> Iterator[str]:
    """Every route of the site as a template ("admin/orders/order/<path:object_id>/change/")."""

    def walk(patterns, prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    for route in walk(get_resolver().url_patterns, ""):
        if route.startswith("admin/^(?P<app_label>"):
            yield from ("admin/orders/", "admin/operators/", "admin/auth/", "admin/api/")
        elif route == "admin/(?P<url>.*)$":
            yield "admin/<path:anything>"
        else:
            yield route


def with_values(route: str, value_of) -> str:
    return "/" + PLACEHOLDER.sub(lambda match: quote(value_of(route, match[2]), safe=""), route)


@pytest.fixture
def world(operator, other_operator):
    """A held order, a free one, a comment, a notification, an API key, a supervisor: every model's page
    has a real row to open."""
    held, free = OrderFactory(number="500001"), OrderFactory(number="500002")
    orders_assign(actor=other_operator, order_ids=[held.pk])
    OrderCommentFactory(order=held, author=other_operator, body="Called the customer")
    api_key_create(user=operator, name="sync")
    SupervisorFactory(username="boris")
    return {"held": held, "free": free}


def real_value(route: str, name: str) -> str:
    """A real id for a route's parameter, by the model its address names."""
    models = {
        "orders/order/": Order,
        "orders/ordercomment/": OrderComment,
        "orders/orderstatus/": OrderStatus,
        "operators/assignment/": Assignment,
        "operators/assignmentlog/": AssignmentLog,
        "api/apikey/": ApiKey,
    }
    if name == "number":
        return "500001"
    if name == "notification_id":
        row = Notification.objects.order_by("pk").first()
        return str(row.pk if row else 1)
    if name == "content_type_id":
        return str(ContentType.objects.get_for_model(Order).pk)
    if name == "id" or "auth/user/" in route:
        return str(get_user_model().objects.order_by("pk").values_list("pk", flat=True).first())
    for fragment, model in models.items():
        if fragment in route:
            return str(model.objects.order_by("pk").values_list("pk", flat=True).first())
    if "auth/group/" in route:
        from django.contrib.auth.models import Group

        return str(Group.objects.order_by("pk").values_list("pk", flat=True).first())
    return "1"


def assert_answered(response, what: str) -> None:
    error = response.exc_info[1] if getattr(response, "exc_info", None) else None
    assert response.status_code < 500, f"{response.status_code} from {what}: {error!r}"


def assert_nul_refused(response, what: str) -> None:
    assert response.status_code == 400, f"{response.status_code} from {what}"
    if urlsplit(what).path.startswith("/api/"):
        assert response["Content-Type"] == "application/problem+json", what
        assert "NUL" in response.json()["detail"]
    else:
        assert "NUL" in response.content.decode(), what


def get_alone(client, url: str):
    """GET in a savepoint rolled back after: on PostgreSQL a statement the database refused (and the page
    answered 400) aborts the test's transaction, where in production it ends with its own statement."""
    with transaction.atomic():
        response = client.get(url)
        transaction.set_rollback(True)
    return response


def console_client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_every_route_with_hostile_parameters_answers_without_a_server_error(world, superuser, operator):
    for user in (superuser, operator):
        client = console_client(user)
        api = APIClient(raise_request_exception=False)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=user, name='fuzz').secret}")
        for route in routes():
            if "<" not in route:
                continue
            for segment in HOSTILE_SEGMENTS:
                url = with_values(route, lambda _route, _name, segment=segment: segment)
                for method in ("get", "post"):
                    with transaction.atomic():
                        if url.startswith("/api/"):
                            response = getattr(api, method)(url, {}, format="json")
                        else:
                            response = getattr(client, method)(url)
                        transaction.set_rollback(True)
                    assert_answered(response, f"{method.upper()} {url} as {user}")
                    if NUL in segment:
                        assert_nul_refused(response, url)


def test_every_page_with_hostile_query_values_answers_without_a_server_error(world, superuser):
    """Every page gets a NUL in its query string (a 400); every list, each of its filters with every hostile
    value."""
    client = console_client(superuser)
    pages = [with_values(route, real_value) for route in routes() if not route.startswith("api/")]
    for page in pages:
        url = f"{page}?{urlencode({'q': 'a' + NUL})}"
        assert_nul_refused(get_alone(client, url), url)
    lists = [page for page in pages if page.count("/") == 4 and page.startswith("/admin/")]
    parameters = [
        "q",
        "o",
        "p",
        "status__code__exact",
        "status__id__exact",
        "held",
        "operator",
        "id__gt",
        "at__gte",
    ]
    for page in lists:
        for value in HOSTILE_VALUES[1:]:
            for parameter in parameters:
                url = f"{page}?{urlencode({parameter: value})}"
                assert_answered(get_alone(client, url), url)


class Forms(HTMLParser):
    """The forms of a page: (action, method, field names)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append(
                (attributes.get("action") or "", (attributes.get("method") or "get").lower(), [])
            )
        elif tag in ("input", "select", "textarea") and self.forms and attributes.get("name"):
            self.forms[-1][2].append(attributes["name"])


FORM_VALUES = [
    "a\x00b",
    "99999999999999999999999",
    "<script>alert(1)</script>\r\nBcc: x@example.com" + "²" * 2000,
]


def test_every_console_form_posted_with_hostile_values_answers_without_a_server_error(
    world, superuser, operator
):
    """Each form once per value (the list's search box is one form, however many lists show it), as the
    superuser (who sees every form) and as an operator (whose order page offers other buttons)."""
    posted: set[tuple[str, str, tuple[str, ...]]] = set()
    for user in (superuser, operator):
        client = console_client(user)
        for route in routes():
            if route.startswith(("api/", "healthz")) or "anything" in route:
                continue
            if user is operator and "orders/order/" not in route:
                continue
            page = with_values(route, real_value)
            response = client.get(page)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            parser = Forms()
            parser.feed(response.content.decode())
            for action, method, names in parser.forms:
                target = action if action.startswith("/") else page + action
                fields = tuple(sorted(set(names) - {"csrfmiddlewaretoken"}))
                if (target.split("?")[0], method, fields) in posted or not fields:
                    continue
                posted.add((target.split("?")[0], method, fields))
                for value in FORM_VALUES:
                    data = dict.fromkeys(fields, value)
                    with transaction.atomic():
                        answer = client.post(target, data) if method == "post" else client.get(target, data)
                        transaction.set_rollback(True)
                    what = f"{method.upper()} {target} {list(fields)[:6]}=... as {user}"
                    assert_answered(answer, what)
                    if NUL in value:
                        assert answer.status_code == 400, what
                client.force_login(user)  # a form may have been the logout
    assert len(posted) > 20  # the crawl found the console's forms


@settings(
    max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    parameter=st.sampled_from(
        ["status__code__exact", "status__id__exact", "assigned", "q", "o", "p", "id__in"]
    ),
    value=st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
)
def test_the_order_list_answers_any_filter_value_without_a_server_error(django_user_model, parameter, value):
    user = django_user_model.objects.filter(
        is_superuser=True
    ).first() or django_user_model.objects.create_superuser("fuzz-root", "root@example.com", "x")
    client = console_client(user)
    url = f"/admin/orders/order/?{urlencode({parameter: value})}"
    response = get_alone(client, url)
    assert_answered(response, url)
    if NUL in value:
        assert_nul_refused(response, url)


def test_deeply_nested_json_to_every_api_path_is_a_400_problem(world, superuser):
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=superuser, name='fuzz').secret}")
    nested = "[" * 100_000 + "]" * 100_000
    just_too_deep = '{"orders": ' + "[" * 40 + "]" * 40 + "}"
    for route in routes():
        if not route.startswith("api/v1/") or route.rstrip("/").endswith(("schema", "docs", "claim-next")):
            continue  # the schema, its docs and claim-next read no body (in either form of their path)
        if route == "api/v1/^.*$":
            continue  # any other path: a 404 problem (tests/api/test_paths.py), no body read
        url = with_values(route, lambda _route, _name: "500002")
        for method in ("post", "put", "patch"):
            for body in (nested, just_too_deep):
                response = getattr(api, method)(
                    url, body, content_type="application/json", HTTP_IF_MATCH='"1"'
                )
                assert_answered(response, f"{method} {url}")
                if response.status_code != 405:
                    assert response.status_code == 400, (url, method, response.content[:200])
                    assert response["Content-Type"] == "application/problem+json"
                    assert "levels deep" in response.json()["detail"]


def test_an_unknown_api_path_and_an_oversized_body_answer_problem_json(operator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=operator, name='fuzz').secret}")
    unknown = api.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404 and unknown["Content-Type"] == "application/problem+json"
    assert unknown.json()["code"] == "not_found" and "/api/v1/no-such-thing" in unknown.json()["detail"]
    big = api.post("/api/v1/holds/batch", {"action": "assign", "orders": ["1" * 50] * 40}, format="json")
    assert big.status_code == 413 and big["Content-Type"] == "application/problem+json"
    assert big.json()["code"] == "too_large"
