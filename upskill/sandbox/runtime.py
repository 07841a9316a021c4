"""The lab runtime: the virtualenv learner code runs with (numpy, pandas, scikit-learn, scipy).

It is built by ``make lab-runtime`` (part of ``make setup``) from Debian's ``/usr/bin/python3``
with ``venv --without-pip``, and the exact versions in ``runtime-requirements.txt`` are
installed into it by the project's pip. It holds no Django and no Upskill code. Inside the
sandbox it is bound read-only at :data:`~upskill.sandbox.spec.RUNTIME_DIR`, and its base
interpreter is found under ``/usr``, which the sandbox binds anyway; an interpreter from
anywhere else (pyenv under ``/root``, ``/usr/local``) would need a bind that exposes more.
"""

from __future__ import annotations

import os
from pathlib import Path

from upskill.sandbox.spec import SandboxUnavailable

__all__ = ["RUNTIME_ENV_VAR", "check_runtime", "lab_runtime"]

RUNTIME_ENV_VAR = "UPSKILL_LAB_RUNTIME"
# Written by the Makefile target after every package is installed and `pip check` passed.
BUILT_MARKER = ".installed"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def lab_runtime() -> Path:
    """The lab virtualenv's root: ``$UPSKILL_LAB_RUNTIME``, else ``<repo>/var/lab-runtime``.

    Raises :class:`SandboxUnavailable` saying how to build it when it is missing or incomplete.
    """
    configured = os.environ.get(RUNTIME_ENV_VAR, "").strip()
    path = Path(configured) if configured else _REPO_ROOT / "var" / "lab-runtime"
    check_runtime(path)
    return path


def check_runtime(path: Path) -> None:
    """Raise :class:`SandboxUnavailable` unless ``path`` is a complete lab runtime whose base
    interpreter lives under ``/usr`` (outside ``/usr/local``)."""
    how = "build it with `make lab-runtime` or point UPSKILL_LAB_RUNTIME at one"
    if not (path / BUILT_MARKER).is_file() or not (path / "bin" / "python").exists():
        raise SandboxUnavailable(f"the lab runtime is not built at {path}: {how}")
    home = _pyvenv_home(path / "pyvenv.cfg")
    if home is None:
        raise SandboxUnavailable(f"{path} is not a virtualenv (no pyvenv.cfg with home): {how}")
    base = Path(os.path.realpath(home))
    if base.parts[:2] != ("/", "usr") or base.parts[:3] == ("/", "usr", "local"):
        raise SandboxUnavailable(
            f"the lab runtime at {path} was made from the interpreter in {home}; the sandbox "
            f"only exposes interpreters under /usr (not /usr/local): rebuild it with "
            f"`make lab-runtime LAB_PYTHON=/usr/bin/python3`"
        )


def _pyvenv_home(config: Path) -> str | None:
    try:
        text = config.read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "home":
            return value.strip()
    return None
