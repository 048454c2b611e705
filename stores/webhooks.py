"""The webhook address of each store: POST /hooks/<slug>/ (the platform comes from the store).

The signature is checked on the raw body, before anything parses it, in constant time. Refusals change
nothing: 405 (not POST), 404 (no such store, an inactive one, or a Magento store: Magento has no webhooks and
is polled), 413 (a body over ORDEROPS_STORES["MAX_BODY_BYTES"], not read), 401 (a missing or wrong
signature: a log line and the store's counter, nothing else). WooCommerce's unsigned ping on a webhook's
creation (form-encoded `webhook_id=N`) gets 200. Once the signature is valid the answer is 2xx, whatever
the body holds: stores.inbox keeps the delivery, applied or failed.
"""

import logging
import re

from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from stores.conf import stores_setting
from stores.inbox import delivery_key, delivery_receive
from stores.models import Platform, Store
from stores.signatures import signature_valid, woocommerce_key

logger = logging.getLogger("orderops.stores")

# Each platform's headers: the signature, the topic, and what identifies the delivery (kept with it).
SIGNATURE_HEADER = {Platform.SHOPIFY: "X-Shopify-Hmac-Sha256", Platform.WOOCOMMERCE: "X-WC-Webhook-Signature"}
TOPIC_HEADER = {Platform.SHOPIFY: "X-Shopify-Topic", Platform.WOOCOMMERCE: "X-WC-Webhook-Topic"}
KEPT_HEADERS = {
    Platform.SHOPIFY: {
        "event_id": "X-Shopify-Event-Id",
        "webhook_id": "X-Shopify-Webhook-Id",
        "triggered_at": "X-Shopify-Triggered-At",
        "shop_domain": "X-Shopify-Shop-Domain",
        "api_version": "X-Shopify-API-Version",
    },
    Platform.WOOCOMMERCE: {
        "webhook_id": "X-WC-Webhook-ID",
        "delivery_id": "X-WC-Webhook-Delivery-ID",
        "source": "X-WC-Webhook-Source",
        "resource": "X-WC-Webhook-Resource",
        "event": "X-WC-Webhook-Event",
    },
}
WOOCOMMERCE_PING = re.compile(rb"webhook_id=\d+")


def _problem(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"status": status, "detail": detail}, status=status)


def _signature_refused(store: Store, topic: str, request: HttpRequest) -> JsonResponse:
    Store.objects.filter(pk=store.pk).update(
        signature_failures=F("signature_failures") + 1, last_signature_failure_at=timezone.now()
    )
    logger.warning(
        "store webhook refused: %s %s: missing or wrong signature",
        store.slug,
        topic or "(no topic)",
        extra={"store": store.slug, "topic": topic, "remote_addr": request.META.get("REMOTE_ADDR", "")},
    )
    return _problem(401, "The signature is missing or wrong.")


# How much of a body without a Content-Length is read at a time.
READ_CHUNK = 64 * 1024


def _declared_length(request: HttpRequest) -> int | None:
    """The body's Content-Length, or None when the request sends none (a chunked body)."""
    try:
        return int(request.META["CONTENT_LENGTH"])
    except (KeyError, ValueError):
        return None


def _read_upto(stream, limit: int) -> bytes:
    """Read `stream` to its end, but no more than limit + 1 bytes (enough to know it is too long)."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(min(READ_CHUNK, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or None when it is longer than `limit` (read no further than that).

    A body sent without a Content-Length (`Transfer-Encoding: chunked`: the server de-chunks it) is read
    from the server's input stream itself: Django's request stream takes a missing Content-Length for an
    empty body, so its signature would be checked on nothing (a 401 for a valid delivery)."""
    if getattr(request, "_body", None) is not None:
        body = request.body
    elif (
        _declared_length(request) is None
        and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        and "wsgi.input" in request.META
    ):
        body = _read_upto(request.META["wsgi.input"], limit)
    else:
        body = _read_upto(request, limit)
    return None if len(body) > limit else body


@csrf_exempt
def store_webhook(request: HttpRequest, slug: str) -> HttpResponse:
    if request.method != "POST":
        response = _problem(405, "Deliveries are POSTed.")
        response["Allow"] = "POST"
        return response
    limit = stores_setting("MAX_BODY_BYTES")
    declared = _declared_length(request) or 0
    if declared > limit:
        return _problem(413, f"The body is longer than {limit} bytes.")
    store = Store.objects.filter(slug=slug, active=True).first()
    if store is None or store.platform not in SIGNATURE_HEADER:
        return _problem(404, "There is no store with webhooks at this address.")
    body = _body(request, limit)
    if body is None:
        return _problem(413, f"The body is longer than {limit} bytes.")
    platform = Platform(store.platform)
    signature = request.headers.get(SIGNATURE_HEADER[platform])
    topic = (request.headers.get(TOPIC_HEADER[platform]) or "").strip()[:64]
    if platform == Platform.WOOCOMMERCE and signature is None and WOOCOMMERCE_PING.fullmatch(body.strip()):
        logger.info("store webhook ping: %s", store.slug, extra={"store": store.slug})
        return JsonResponse({"status": 200, "detail": "pong"})
    secret = (
        woocommerce_key(store.webhook_secret) if platform == Platform.WOOCOMMERCE else store.webhook_secret
    )
    if not signature_valid(secret, body, signature):
        return _signature_refused(store, topic, request)

    headers = {
        name: value[:200]
        for name, header in KEPT_HEADERS[platform].items()
        if (value := request.headers.get(header))
    }
    key = delivery_key(store=store, topic=topic, body=body, headers=headers)
    receipt = delivery_receive(store=store, topic=topic, key=key, body=body, headers=headers)
    return JsonResponse(
        {
            "status": 200,
            "delivery": receipt.delivery_id,
            "state": receipt.state,
            "duplicate": receipt.duplicate,
        }
    )
