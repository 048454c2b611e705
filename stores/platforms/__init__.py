"""One module per platform: each turns the platform's own order JSON into one IncomingOrder."""
