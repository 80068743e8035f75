"""gunicorn settings, shared by `make serve` and the container. Values come from the same
validated Settings the app uses (environment first, then `.env`)."""

import os
import tempfile
from pathlib import Path

from llm_gateway.config import load_settings
from llm_gateway.observability.logging import gunicorn_logconfig
from llm_gateway.serving import bind_addresses

_settings = load_settings()

# Metrics from every worker meet in this directory. It must be in the environment before any
# process imports prometheus_client (the workers do, after the fork), so set it here.
_metrics_dir = Path(
    os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR",
        str(Path(tempfile.gettempdir()) / f"llm-gateway-metrics-{_settings.port}"),
    )
)

wsgi_app = "llm_gateway.app:create_app()"
worker_class = "llm_gateway.serving.Worker"
bind = bind_addresses(_settings.host, _settings.port)
workers = _settings.workers
graceful_timeout = _settings.timeout_graceful_shutdown
keepalive = _settings.keepalive
timeout = 120
preload_app = False
accesslog = None
# gunicorn 27's control socket would sit at one path shared by every instance (and the
# container's root filesystem is read-only); nothing here uses it.
control_socket_disable = True
loglevel = _settings.log_level
logconfig_dict = gunicorn_logconfig(_settings)


def when_ready(server: object) -> None:
    """Start from zero: values left by an earlier run would be summed into this one's.

    Runs once the sockets are bound and before the first worker forks; not in `on_starting`,
    which runs before binding, so a second server started on a busy port by mistake would
    wipe the running one's files before failing. Only the *.db files go, in case the
    directory is shared or a mount point."""
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server: object, worker: object) -> None:
    """A dead worker's counters stay (they must not go backwards); its live gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_metrics_dir))  # type: ignore[attr-defined]


def post_worker_init(worker: object) -> None:
    """The app is built: everything so far lives as long as the worker, so keep the garbage
    collector from scanning it again and again on the request path."""
    import gc

    gc.freeze()
