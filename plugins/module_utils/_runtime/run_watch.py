# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Stop a module's KMS calls within seconds when the run that started it is killed.

ansible-playbook runs each task in a worker process that starts a session of its
own, so killing ansible-playbook (kill -9, a dead container runtime, AWX giving
up on a job) does not reach the worker or the module: the module would go on
changing keys for a run nobody watches, overlapping the next run. The worker is
a child of ansible-playbook; when that dies the worker is handed to another
parent. This watches for exactly that, and ends the module at once.

Linux only (it reads /proc); elsewhere it does nothing. Nothing is left for the
next run to finish: a module may leave a note for people on its way out.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import os
import threading
import time

EXIT_CODE = 143
_MAX_DEPTH = 6


def _stat(pid):
    """(parent pid, session id) of a process, from /proc."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[3])


def run_process():
    """(worker pid, its parent's pid): the nearest ancestor that leads its own session, or None."""
    pid = os.getpid()
    for _level in range(_MAX_DEPTH):
        parent, _session = _stat(pid)
        if parent <= 1:
            return None
        grandparent, session = _stat(parent)
        if session == parent:
            return parent, grandparent
        pid = parent
    return None


def orphaned(watched):
    worker, parent = watched
    try:
        return _stat(worker)[0] != parent
    except (IOError, OSError, ValueError, IndexError):
        return True


def stop_when_run_ends(interval=0.5, on_orphaned=os._exit, last_words=None):
    """Start a daemon thread that ends this process once ansible-playbook is gone.

    ``last_words``, when given, is called first (its failure cannot keep the process alive).
    """
    if not os.path.exists("/proc/self/stat"):
        return None
    try:
        watched = run_process()
    except (IOError, OSError, ValueError, IndexError):
        return None
    if watched is None:
        return None

    def watch():
        while True:
            time.sleep(interval)
            if orphaned(watched):
                try:
                    if last_words is not None:
                        last_words()
                finally:
                    on_orphaned(EXIT_CODE)

    thread = threading.Thread(target=watch, name="keyguard-lifeline")
    thread.daemon = True
    thread.start()
    return watched
