"""A WSGI app for test_gunicorn_worker: answers with the pid of the process
that served the request, after holding its thread for `?hold=` seconds."""

import os
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    hold = parse_qs(environ.get("QUERY_STRING", "")).get("hold", ["0"])[0]
    time.sleep(float(hold))
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
