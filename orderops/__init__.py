"""orderops: the order-operator console for online-store back offices."""
