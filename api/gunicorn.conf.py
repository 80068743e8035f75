"""gunicorn settings, shared by `make serve` and the container. Values come from the same
validated Settings the app uses (environment first, then `.env`)."""

from llm_gateway.config import load_settings
from llm_gateway.serving import bind_addresses

_settings = load_settings()

wsgi_app = "llm_gateway.app:create_app()"
worker_class = "llm_gateway.serving.Worker"
bind = bind_addresses(_settings.host, _settings.port)
workers = _settings.workers
graceful_timeout = _settings.timeout_graceful_shutdown
keepalive = _settings.keepalive
timeout = 120
preload_app = False
accesslog = None
