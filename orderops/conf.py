"""The product settings: the ORDEROPS dict, its documented defaults, and one accessor."""

from datetime import timedelta
from typing import Any

from django.conf import settings

# Every key of settings.ORDEROPS, with its default. The system check in operators/checks.py rejects
# unknown keys and bad values at start-up.
DEFAULTS: dict[str, Any] = {
    # Statuses whose unassigned orders "Get next order" hands out, oldest first.
    "CLAIMABLE_STATUSES": ["pending", "processing"],
    # How many orders one operator may hold at once; None means no cap.
    "MAX_HELD_PER_OPERATOR": None,
    # A hold untouched for longer than this is released as "expired"; None means holds never expire.
    "HOLD_IDLE_TIMEOUT": None,
    # When True only the holder (or a supervisor) may change an order, and an unheld order must be taken
    # before it is changed. When False anyone with change permission may change an unheld order.
    "EDIT_REQUIRES_HOLD": True,
    # The edit guard the order domain calls (orders/guard.py): a dotted path to a callable.
    "EDIT_GUARD": "operators.rules.orders_edit_refusals",
    # The file formats import_orders reads besides its own csv and jsonl (orders/importing/formats.py): a
    # format name (as --format takes it) -> the dotted path of a FileFormat. The stores app fills it with the
    # platforms' export files.
    "IMPORT_FORMATS": {
        "shopify-csv": "stores.exports.SHOPIFY_CSV",
        "shopify-json": "stores.exports.SHOPIFY_JSON",
        "woocommerce-json": "stores.exports.WOOCOMMERCE_JSON",
        "magento-json": "stores.exports.MAGENTO_JSON",
    },
    # The longest internal comment accepted, in characters.
    "COMMENT_MAX_LENGTH": 5000,
    # The longest reason accepted for a take-over, a transfer or a release, in characters.
    "REASON_MAX_LENGTH": 500,
    # The most orders one bulk request (action, service call) may name; larger requests are refused whole.
    "BULK_MAX_ORDERS": 10000,
    # The live console (live/): seconds between an open order page's presence heartbeats, seconds after its
    # last heartbeat that a tab counts as gone (more than one interval, so one late heartbeat is no gap),
    # and seconds between the list's and the order page's polls for changes.
    "LIVE_HEARTBEAT_INTERVAL": 20,
    "LIVE_PRESENCE_TIMEOUT": 60,
    "LIVE_POLL_INTERVAL": 15,
    # The most tabs one person's presence may count at once (heartbeats of a further tab are refused until one
    # closes or times out): a bound on what one account can show, however it sends heartbeats.
    "LIVE_TABS_PER_PERSON": 20,
    # Seconds between the console navigation's refreshes of its queue counts while the tab is visible (the
    # list's rows changing holder or status refresh them at once).
    "QUEUE_COUNTS_INTERVAL": 30,
    # Seconds the queue counts, once counted, serve every tab of every person (through Django's cache: every
    # process of a host or of several hosts when the cache is shared, Redis; each process its own otherwise).
    # 0 counts for every request. A list row seen changing holder or status counts them afresh at once.
    "QUEUE_COUNTS_SHARED_FOR": 10,
    # Notifications (live/): seconds between the console bell's refreshes of its unread count while the tab
    # is visible.
    "NOTIFICATION_BELL_INTERVAL": 15,
    # The kinds of notification emailed to a person who has not chosen for themselves (their preferences
    # page): taken_over, transferred, assigned, expired, changed, mentioned, released. The console shows every
    # kind.
    "NOTIFICATION_EMAIL_KINDS": ["taken_over", "released"],
    # The console's address as people open it, e.g. "https://orders.example.com": emails link to the order
    # with it. Empty: emails name the order without a link.
    "NOTIFICATION_SITE_URL": "",
    # The email outbox (send_notifications): how often a message is tried before it is marked failed; the
    # wait before the first retry in seconds, doubled after each failure up to the longest wait; how long a
    # worker's claim on a message lasts (longer than EMAIL_TIMEOUT: a claim that ends while its worker still
    # sends would let another worker send the message too); and how long an idle worker sleeps.
    "OUTBOX_MAX_ATTEMPTS": 5,
    "OUTBOX_RETRY_DELAY": 60,
    "OUTBOX_RETRY_DELAY_MAX": 3600,
    "OUTBOX_LEASE": 300,
    "OUTBOX_IDLE_SLEEP": 5,
    # The region whose national phone numbers orders carry without a country code ("0888 123 456"), as an
    # ISO 3166 code ("BG"): the search finds a phone typed in any form through it. Empty: only numbers with
    # their country code ("+359 ...") are recognised as such. Changing it: run `manage.py search_text --fix`.
    "PHONE_REGION": "",
    # Every search (the console's lists, the API's q) considers at most this many words and characters of
    # what was typed, and the page says when it cut.
    "SEARCH_MAX_WORDS": 8,
    "SEARCH_MAX_LENGTH": 100,
    # Login throttling (operators/login_throttle.py): past this many failed logins for one username, or from
    # one address, within the window (seconds), every login attempt for it is refused unheard, the right
    # password included, until the oldest failure leaves the window. Failed API authentication counts per
    # address the same way.
    "LOGIN_MAX_FAILURES": 10,
    "LOGIN_FAILURE_WINDOW": 15 * 60,
    # Where the client's address is read: "" for the connection's own (REMOTE_ADDR), or the request header a
    # trusted proxy in front of every app server sets, as Django names it (e.g. "HTTP_X_REAL_IP"; for
    # "HTTP_X_FORWARDED_FOR" the last address, the one the proxy added, counts). Behind a proxy, leaving it
    # "" puts every client at the proxy's address: one limit for everybody.
    "CLIENT_ADDRESS_HEADER": "",
    # A console session ends after this many seconds without a page opened or a form sent (the open tabs'
    # background polls do not count); Django's SESSION_COOKIE_AGE (12 hours here) ends it after the login
    # whatever happens.
    "SESSION_IDLE_TIMEOUT": 60 * 60,
}

# Names of the two roles; setup_roles creates them and the rules look them up.
OPERATORS_GROUP = "Operators"
SUPERVISORS_GROUP = "Supervisors"


def orderops_setting(key: str) -> Any:
    """Return settings.ORDEROPS[key], or its documented default."""
    if key not in DEFAULTS:
        raise KeyError(f"ORDEROPS has no setting {key!r}")
    value = getattr(settings, "ORDEROPS", {}).get(key, DEFAULTS[key])
    if key == "HOLD_IDLE_TIMEOUT" and isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value
