"""structlog set-up, request ids and Prometheus metric definitions.

Nothing here is imported eagerly: gunicorn.conf.py imports `logging` in the master before the
workers fork, and prometheus_client must only be imported once PROMETHEUS_MULTIPROC_DIR is set.
"""
