"""Start the web server (gunicorn) and one background worker; stop both together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Upskill: gunicorn on HOST:PORT plus one worker process (Ctrl-C stops both)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get(
            "DJANGO_SETTINGS_MODULE", "upskill.settings")}
        address = f"{options['host']}:{options['port']}"
        web = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", "gunicorn", "upskill.wsgi:application",
             "--bind", address, "--workers", str(options["web_workers"]), "--threads", "4",
             "--access-logfile", "-", "--graceful-timeout", "10"],
            env=env,
        )
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker"], env=env
        )
        self.stdout.write(f"Upskill is running on http://{address}/ (Ctrl-C to stop).")
        children = [web, worker]
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            sys.exit(1)
