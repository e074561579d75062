"""gunicorn started by a test: production's config/gunicorn.py, on a port of its own."""

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[1]


def gunicorn_start(app: str, *options: str, **popen: Any) -> tuple[subprocess.Popen, int]:
    """gunicorn serving `app` with production's config and `options`; the
    process and its port. The socket is bound here and handed over (fd://):
    no other process can take the port between choosing it and gunicorn
    binding it. Its control socket is off: the default one is one path for
    every gunicorn of the user, and a second gunicorn would take it from the
    first."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(2048)
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "config/gunicorn.py",
                app,
                "--bind",
                f"fd://{listener.fileno()}",
                "--no-control-socket",
                *options,
            ],
            cwd=BASE_DIR,
            pass_fds=(listener.fileno(),),
            **popen,
        )
        return process, listener.getsockname()[1]
    finally:
        listener.close()  # gunicorn has its own copy
