"""Settings for the test suite: the real settings plus a test-only app of job handlers."""

from upskill.settings import *  # noqa: F403
from upskill.settings import INSTALLED_APPS, PASSWORD_HASHERS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.support"]
# Hashing with argon2 costs ~50 ms per login; tests that need it say so.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

# A file, not memory, so worker and server subprocesses started by tests see the same data.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-upskill.sqlite3")}  # noqa: F405
