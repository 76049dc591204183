"""gunicorn settings for the API (`gunicorn -c python:backend.gunicorn_conf ...`).

Sync workers: a worker that is busy for longer than `timeout` (a client trickling its body, a
stuck request) is killed and replaced, so a slow client holds a worker for at most that long;
the app's own body deadline (ANJIAN_BODY_TIMEOUT, backend/serving.py) answers 408 before it.
"""

timeout = 75
graceful_timeout = 30
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
