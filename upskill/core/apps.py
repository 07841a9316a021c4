import numpy  # noqa: F401 - loaded here so that its OpenBLAS is limited below
import scipy.linalg  # type: ignore[import-untyped]  # noqa: F401 - scipy has its own OpenBLAS
from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from threadpoolctl import threadpool_limits


class CoreConfig(AppConfig):
    name = "upskill.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # One BLAS thread per process. The platform scales by processes (gunicorn workers, job
        # workers), and its processes start sandboxes from background threads: OpenBLAS's
        # fork handler stops its thread pool, and a fork from one thread while another thread
        # is inside a multi-threaded BLAS call leaves that call waiting forever for a worker
        # thread that no longer exists (seen: a baseline's matrix product spinning for 20
        # minutes while the warm code-mode sandbox was being started). threadpoolctl limits
        # the libraries loaded so far: numpy's and scipy's, imported above.
        threadpool_limits(limits=1, user_api="blas")
        # Every app's tasks.py registers its job handlers; a worker must know them all.
        autodiscover_modules("tasks")
