"""Production mode: refuses unsafe configuration by name, and sends security headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAFE = {
    "UPSKILL_ENV": "production",
    "SECRET_KEY": "k" * 20 + "this-is-a-long-random-production-secret-key-0123456789",
    "ALLOWED_HOSTS": "learn.example.org",
}

PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client()
out = {}
for path in ["/", "/account/login/"]:
    r = client.get(path, secure=True, HTTP_HOST="learn.example.org")
    out[path] = {"status": r.status_code, "headers": dict(r.headers),
                 "cookies": {k: {"secure": bool(v["secure"]), "httponly": bool(v["httponly"])}
                             for k, v in r.cookies.items()}}
r = client.get("/", HTTP_HOST="learn.example.org")
out["plain_http"] = {"status": r.status_code, "location": r.headers.get("Location")}
print("RESULT" + json.dumps(out))
"""


def run_python(code: str, **env_changes: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG",
                                                          "ALLOWED_HOSTS", "UPSKILL_ENV"}}
    env.update({"DJANGO_SETTINGS_MODULE": "upskill.settings", **env_changes})
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize(("changes", "named"), [
    ({"DEBUG": "true"}, "DEBUG must be off"),
    ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 50"),
    ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must list"),
    ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
])
def test_unsafe_production_configuration_refuses_to_start(changes, named):
    result = run_python("import django; django.setup()", **{**SAFE, **changes})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


def test_unknown_environment_name_is_refused():
    result = run_python("import django; django.setup()", UPSKILL_ENV="prod")
    assert result.returncode != 0
    assert "UPSKILL_ENV must be" in result.stderr


def test_production_sends_security_headers_and_secure_cookies(tmp_path):
    # Production serves hashed static files from collectstatic's manifest.
    static = {**SAFE, "UPSKILL_STATIC_ROOT": str(tmp_path / "static")}
    collected = run_python(
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('collectstatic', '--noinput', verbosity=0)", **static)
    assert collected.returncode == 0, collected.stderr
    result = run_python(PROBE, **static)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.split("RESULT", 1)[1])
    landing = out["/"]
    assert landing["status"] == 200
    headers = {k.lower(): v for k, v in landing["headers"].items()}
    assert "max-age=31536000" in headers["strict-transport-security"]
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    csrf_cookie = out["/account/login/"]["cookies"]["csrftoken"]
    assert csrf_cookie["secure"] is True
    assert out["plain_http"]["status"] == 301
    assert out["plain_http"]["location"].startswith("https://")


def test_development_mode_generates_and_keeps_a_secret_key(tmp_path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = run_python(code, UPSKILL_VAR_DIR=str(tmp_path))
    second = run_python(code, UPSKILL_VAR_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50 and key == second.stdout.strip()
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
