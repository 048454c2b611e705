"""The order domain: orders, their lines, statuses and internal comments."""
