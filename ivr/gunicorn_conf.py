"""gunicorn settings for `hotline serve` (production; ``gunicorn -c python:ivr.gunicorn_conf``). Twilio gives a webhook 15 s; we answer well
inside that or the worker is recycled. Override any setting with GUNICORN_* environment variables
or gunicorn's own flags."""

import multiprocessing

from ivr import settings

_env = settings.load()
bind = _env.hotline_bind
workers = _env.hotline_workers or multiprocessing.cpu_count() * 2 + 1
threads = _env.hotline_threads
worker_class = "gthread"
timeout = 10  # seconds a request may take before the worker is restarted (Twilio waits 15)
graceful_timeout = 10
keepalive = 5
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# recycle workers now and then (rarely: each new worker costs seconds of CPU to boot)
max_requests = 200_000
max_requests_jitter = 20_000
accesslog = "-"
errorlog = "-"
# never log query strings' secrets: Twilio's parameters come in the body, which is not logged
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'


def when_ready(server):
    """At start, on PostgreSQL: warn if the workers could open more connections than the server
    accepts (each keeps two pools; see the README's settings)."""
    from ivr.store.db import connection_budget

    url = settings.load().database_url
    warning = connection_budget(url, server.cfg.workers) if url else None
    if warning:
        server.log.warning(warning)


def post_worker_init(worker):
    """The app is loaded: what loading it allocated (modules, configuration, SQLAlchemy's tables)
    lives as long as the worker, so it is moved out of the garbage collector's way; collections
    then only go through what requests allocate."""
    import gc

    from ivr.web.health import worker_started

    app = getattr(worker, "wsgi", None)  # the Flask app (unless it failed to load)
    if hasattr(app, "instance_path"):
        worker_started(app.instance_path)  # /healthz tells a worker killed from one that left
    gc.collect()
    gc.freeze()


def worker_exit(server, worker):
    """A worker leaving cleanly (recycled, reloaded, stopped) is not reported by /healthz."""
    from ivr.web.health import worker_exited

    app = getattr(worker, "wsgi", None)
    if hasattr(app, "instance_path"):
        worker_exited(app.instance_path)
