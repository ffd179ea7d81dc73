"""The web tier's gunicorn settings. gunicorn reads this file from the working directory,
so `make run`, docs/deployment.md's web-node command and the tests' LocalService share it.
Flags on the command line (for example --bind) override it. In production a buffering
proxy (nginx, docs/deployment.md) sits in front: it receives slow uploads whole and hands
gunicorn complete requests."""

import gc
import os

from paksatalker_site.env import data_dir, web_threads, web_workers

# The app (Django, the URL tree, imports, ffmpeg probes) loads once in the master and
# the workers are forked from it: they share its memory and start in milliseconds.
preload_app = True
# Stock gthread: a slow upload or an event stream holds a thread, not a process.
worker_class = "gthread"
workers = web_workers()
threads = web_threads()
# A process takes no more connections than it has threads, and closes each after its answer:
# a connection it cannot start on at once stays in the kernel's accept queue, where the next
# free process takes it, instead of waiting behind this process's work (under a burst, stock
# gthread let one process take most connections while the others idled). nginx opens a new
# upstream connection per request anyway, so no keep-alive is lost behind it.
worker_connections = threads
keepalive = 0
timeout = 120
# Each worker touches a heartbeat file on every pass of its loop; on tmpfs that costs no
# disk journal write (gunicorn's own advice for Docker and other disk-backed /tmp).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# One control socket per installation (`gunicornc -s data/gunicorn.ctl`), not gunicorn's
# per-user default that every gunicorn on the machine would share.
control_socket = str(data_dir() / "gunicorn.ctl")


# The loaded app's objects live for the whole process: move them to the collector's
# permanent generation (gc.freeze, which Python's docs advise for forking servers), which it
# never scans. Otherwise a worker's first full collection writes to the header of every
# object it inherited, copying the master's memory page by page: measured, a 0.3-0.4 s stall
# of one worker in the middle of serving.
def pre_fork(server, worker):
    from django.db import connections

    connections.close_all()  # a forked worker must not share the master's database connections
    gc.freeze()


def post_worker_init(worker):
    from paksatalker_site.warmup import worker_warm

    worker_warm()
    gc.freeze()  # what the warm-up loaded, too
    worker.log.info("worker %s ready", worker.pid)
