"""gunicorn reads ./gunicorn.conf.py when started without -c: the settings of `hotline serve`,
which live in the package (ivr/gunicorn_conf.py, ``gunicorn -c python:ivr.gunicorn_conf``)."""

from ivr.gunicorn_conf import *  # noqa: F403
from ivr.gunicorn_conf import post_worker_init, when_ready, worker_exit  # noqa: F401
