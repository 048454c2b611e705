"""Production-shaped tests: the console through real HTTP (gunicorn), the permission matrix, hostile input,
faults. Their helpers: tests/snapshots.py (the product tables before and after), tests/http_server.py (a
gunicorn server and an HTTP browser)."""
