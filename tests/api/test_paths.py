"""Every path of the API, in both forms (with and without the trailing slash), with every method: never a
server error nor an HTML page, and the same answer in either form (a POST's body kept: no redirect).

The paths come from the URL resolver (api.urls), not from a list written here; a test checks that they are
the paths the OpenAPI document names, so a new endpoint is called here as soon as it is routed.
"""

import json
import re
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.urls import URLPattern, reverse
from rest_framework.test import APIClient

from api.keys import api_key_create
from api.urls import urlpatterns
from orders.models import OrderComment
from tests.factories import OrderCommentFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
NUMBER = "800001"
PROBLEM = "application/problem+json"


def documented_routes() -> list[URLPattern]:
    """The routes with a name: each path as the document lists it (the other forms have none)."""
    return [pattern for pattern in urlpatterns if isinstance(pattern, URLPattern) and pattern.name]


def concrete(route: str) -> str:
    return "/api/v1/" + re.sub(r"<str:number>", NUMBER, route)


def other_form(path: str) -> str:
    return path.removesuffix("/") if path.endswith("/") else f"{path}/"


def forms() -> Iterator[tuple[str, str]]:
    for pattern in documented_routes():
        documented = concrete(str(pattern.pattern))
        for path in (documented, other_form(documented)):
            for method in METHODS:
                yield method, path


@pytest.fixture
def api(roles) -> APIClient:
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    order = OrderFactory(number=NUMBER)
    OrderCommentFactory(order=order, author=superuser, body="Called the customer")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=superuser, name='paths').secret}")
    return client


def call(api: APIClient, method: str, path: str):
    """The request, its effects rolled back: each form meets the same world."""
    with transaction.atomic():
        body = json.dumps({}) if method in ("POST", "PUT", "PATCH") else None
        response = api.generic(method, path, body or "", content_type="application/json", HTTP_IF_MATCH='"1"')
        transaction.set_rollback(True)
    return response


def shape(response) -> tuple:
    """What must not differ between the forms: the status, the content type, the problem's code or the
    body's keys."""
    content_type = response.get("Content-Type", "")
    if not response.content:  # HEAD, 204, 304
        return response.status_code, content_type.split(";")[0]
    if content_type == PROBLEM:
        return response.status_code, content_type, response.json()["code"]
    if content_type.startswith("application/json"):
        data = response.json()
        return response.status_code, content_type, sorted(data) if isinstance(data, dict) else len(data)
    return response.status_code, content_type.split(";")[0]


def test_the_routes_are_the_documents_paths(api):
    schema = api.get("/api/v1/schema/?format=json").json()
    routed = {concrete(str(pattern.pattern)).replace(NUMBER, "{number}") for pattern in documented_routes()}
    documented = set(schema["paths"])
    assert documented == routed - {"/api/v1/schema/", "/api/v1/docs/"}


@pytest.mark.parametrize("debug", [False, True], ids=["production", "DEBUG"])
def test_every_path_in_both_forms_with_every_method_is_never_a_500_nor_html(api, settings, debug):
    settings.DEBUG = debug  # Django's debug 404 page is HTML; the API's is a problem all the same
    seen = 0
    for method, path in forms():
        response = call(api, method, path)
        content_type = response.get("Content-Type", "")
        assert response.status_code < 500, (method, path, response.status_code, response.content[:300])
        assert response.status_code not in (301, 302, 307, 308), (method, path, response.get("Location"))
        if path.startswith("/api/v1/docs") and method in ("GET", "HEAD") and response.status_code == 200:
            assert content_type.startswith(("text/html", "application/javascript"))  # the docs page itself
        elif response.status_code >= 400:
            assert content_type == PROBLEM, (method, path, response.status_code, content_type)
        elif response.content:
            json_or_schema = ("application/json", "application/vnd.oai.openapi")
            assert content_type.startswith(json_or_schema if method != "OPTIONS" else "application/json"), (
                method,
                path,
                content_type,
            )
        seen += 1
    assert seen == len(documented_routes()) * 2 * len(METHODS)


def test_every_path_answers_the_same_with_and_without_the_trailing_slash(api):
    for pattern in documented_routes():
        documented = concrete(str(pattern.pattern))
        for method in METHODS:
            first, second = call(api, method, documented), call(api, method, other_form(documented))
            assert shape(first) == shape(second), (method, documented, shape(first), shape(second))


def test_a_comment_posted_without_the_slash_is_saved_once_not_redirected(api):
    response = api.post(f"/api/v1/orders/{NUMBER}/comments", {"body": "Rang twice"}, format="json")
    assert response.status_code == 201, response.content[:300]
    assert OrderComment.objects.filter(body="Rang twice").count() == 1


@pytest.mark.parametrize("debug", [False, True], ids=["production", "DEBUG"])
@pytest.mark.parametrize(
    "path", ["/api/v1/nothing", "/api/v1/orders/800001/nothing/", "/api/v1/holds/", "/api/v1/orders/a/b/c"]
)
def test_any_other_path_is_a_404_problem_naming_it_and_where_the_paths_are(api, settings, debug, path):
    settings.DEBUG = debug
    for method in METHODS:
        response = api.generic(method, path, "{}", content_type="application/json")
        assert response.status_code == 404 and response["Content-Type"] == PROBLEM, (method, path)
        if method != "HEAD":
            problem = response.json()
            assert problem["code"] == "not_found" and problem["instance"] == path
            assert path in problem["detail"] and reverse("api:docs") in problem["detail"]


def test_an_unknown_path_is_told_in_the_clients_language(api):
    response = api.get("/api/v1/nothing/", HTTP_ACCEPT_LANGUAGE="bg")
    problem = response.json()
    assert response.status_code == 404 and problem["title"] == "Не е намерено"
    assert problem["detail"].startswith("В API няма такъв път: /api/v1/nothing/")


def test_the_requests_the_issue_names_answer_as_their_documented_form_does(api):
    """Issue 25, item 9: each was a 500, an HTML 404 or a 403 about creating orders."""
    read = api.get(f"/api/v1/orders/{NUMBER}")
    assert read.status_code == 200 and read.json()["number"] == NUMBER and read["ETag"] == '"1"'
    taken = api.put(f"/api/v1/orders/{NUMBER}/hold/", format="json")
    assert taken.status_code == 200 and taken.json()["hold"]["holder"] == "root"
    api.delete(f"/api/v1/orders/{NUMBER}/hold/")
    claimed = api.post("/api/v1/holds/claim-next/")
    assert claimed.status_code == 200 and claimed.json()["number"] == NUMBER
