"""Webhook signatures: Shopify's X-Shopify-Hmac-Sha256 and WooCommerce's X-WC-Webhook-Signature are both
base64(HMAC-SHA256(secret, raw body)). Checked on the raw bytes, before anything parses them, in constant
time."""

import base64
import hashlib
import hmac


def signature_for(secret: str, body: bytes) -> str:
    """The signature a store sends with `body` when it shares `secret` with us."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_valid(secret: str, body: bytes, header_value: str | None) -> bool:
    """Whether `header_value` is the signature of `body` under `secret`, compared in constant time. A missing
    or empty header, or a store without a secret, is never valid."""
    if not header_value or not secret:
        return False
    expected = signature_for(secret, body).encode("ascii")
    return hmac.compare_digest(expected, header_value.strip().encode("ascii", "replace"))


# wp_specialchars_decode(..., ENT_QUOTES): what WooCommerce does to a webhook's secret before it signs.
_WP_SPECIALCHARS = (
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", '"'),
    ("&#039;", "'"),
    ("&#39;", "'"),
    ("&amp;", "&"),
)


def woocommerce_key(secret: str) -> str:
    """The key WooCommerce signs with: the secret as saved, with WordPress's special characters decoded (a
    secret typed as "a&b" is stored as "a&amp;b" and signed as "a&b")."""
    for entity, char in _WP_SPECIALCHARS:
        secret = secret.replace(entity, char)
    return secret
