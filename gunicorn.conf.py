"""The web tier's gunicorn settings. gunicorn reads this file from the working directory,
so `make run`, the README's web-node command and the tests' LocalService share it.
Flags on the command line (for example --bind) override it."""

import gc
import os

from paksatalker_site.env import data_dir, web_threads, web_workers

# The app (Django, the URL tree, imports, ffmpeg probes) loads once in the master and
# the workers are forked from it: they share its memory and start in milliseconds.
preload_app = True
# gthread, taking a connection only while it has a free thread (paksatalker_site/gworker.py):
# a slow upload or an event stream holds a thread, not a process.
worker_class = "paksatalker_site.gworker.FreeThreadWorker"
workers = web_workers()
threads = web_threads()
timeout = 120
# Each worker touches a heartbeat file on every pass of its loop; on tmpfs that costs no
# disk journal write (gunicorn's own advice for Docker and other disk-backed /tmp).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# One control socket per installation (`gunicornc -s data/gunicorn.ctl`), not gunicorn's
# per-user default that every gunicorn on the machine would share.
control_socket = str(data_dir() / "gunicorn.ctl")


# The loaded app's objects live for the whole process: move them to the collector's
# permanent generation, which it never scans. Otherwise a worker's first full collection
# writes to the header of every object it inherited, copying the master's memory page by
# page: measured, a 0.3-0.4 s stall of one worker in the middle of serving, and about 5%
# less submit latency under a burst with the freeze (Python's gc.freeze docs advise this
# for forking servers).
def pre_fork(server, worker):
    from django.db import connections

    connections.close_all()  # a forked worker must not share the master's database connections
    gc.freeze()


def post_worker_init(worker):
    from paksatalker_site.warmup import worker_warm

    worker_warm()
    gc.freeze()  # what the warm-up loaded, too
    worker.log.info("worker %s ready", worker.pid)

