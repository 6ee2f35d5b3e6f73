# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One remediation of an account at a time on one controller.

A lock file per target names the ansible-playbook process that holds it (its PID
and its start time, so a reused PID is not mistaken for it). The holder is alive
exactly as long as that process: a run that is killed leaves a file that the next
run sees is stale, so no lock outlives its run and nothing needs cleaning up. The
file is read and written under a short flock, so two runs never both take it.

The folder must be this user's alone (no link, nobody else may write in it), and
the file is opened without following links. Linux only (it reads /proc); elsewhere
every lock is granted.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import fcntl
import json
import os
import time


def process_start(pid):
    """The start time of process ``pid`` (clock ticks since boot), or None when it does not run."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def run_owner(pid, **details):
    """Who holds a lock: the process ``pid`` (the run's ansible-playbook), and details that name the run."""
    return dict(details, pid=pid, process_start=process_start(pid))


def holder_alive(holder):
    return bool(holder) and holder.get("process_start") is not None and (
        process_start(int(holder.get("pid") or 0)) == holder["process_start"])


def _same_run(holder, owner):
    return bool(holder) and (holder.get("pid"), holder.get("process_start")) == (owner["pid"], owner["process_start"])


def _same(holder, owner):
    return _same_run(holder, owner) and holder.get("host") == owner.get("host")


class LockRefused(Exception):
    """The lock cannot be waited for: the folder is not safe, or this very run holds it for another host."""


def _safe_folder(folder):
    """Create ``folder`` for this user alone, or refuse one that another user could tamper with."""
    try:
        os.makedirs(folder, mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if os.path.islink(folder) or not os.path.isdir(folder):
        raise LockRefused("%s is not a folder (a link?)" % folder)
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise LockRefused("%s belongs to another user or others can write in it: give a folder of this user's "
                          "alone (rotation_lock_dir)" % folder)


def lock_path(folder, target):
    return os.path.join(folder, "%s.lock" % target)


def _exchange(path, decide):
    """Read the lock file and maybe rewrite it, all under one flock; returns what ``decide`` returns."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            text = handle.read()
            try:
                holder = json.loads(text) if text.strip() else None
            except ValueError:
                holder = None
            outcome, new_text = decide(holder)
            if new_text is not None:
                handle.seek(0)
                handle.truncate()
                handle.write(new_text)
                handle.flush()
            return outcome
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def acquire(folder, target, owner, timeout, on_wait=None, sleep=time.sleep, clock=time.monotonic):
    """(True, None) once ``owner`` holds the lock of ``target``; (False, holder) when ``timeout`` s ran out.

    ``on_wait(holder)`` is called once, when the lock is held by another live run.
    """
    if owner.get("process_start") is None:
        return True, None
    _safe_folder(folder)
    path = lock_path(folder, target)
    deadline = clock() + timeout
    announced = False

    def decide(holder):
        if holder_alive(holder) and not _same(holder, owner):
            return holder, None
        return None, json.dumps(owner, sort_keys=True)

    while True:
        holder = _exchange(path, decide)
        if holder is None:
            return True, None
        if _same_run(holder, owner):
            # Two hosts of one play for one target: waiting would outlast the play's own task.
            raise LockRefused("host %s of this same run already works on it: keep one host per target in the "
                              "inventory" % holder.get("host"))
        if clock() >= deadline:
            return False, holder
        if not announced and on_wait is not None:
            on_wait(holder)
            announced = True
        sleep(min(1.0, max(0.0, deadline - clock())))


def release(folder, target, owner):
    """Give the lock back, if ``owner`` still holds it."""
    path = lock_path(folder, target)
    if not os.path.exists(path):
        return

    def decide(holder):
        return None, ("" if _same(holder, owner) else None)

    _exchange(path, decide)


def describe(holder):
    """The other run, in words."""
    parts = ["ansible-playbook PID %s" % holder.get("pid")]
    if holder.get("host"):
        parts.append("host %s" % holder["host"])
    if holder.get("started"):
        parts.append("started %s" % holder["started"])
    if holder.get("awx_job_id") is not None:
        parts.append("AWX job %s" % holder["awx_job_id"])
    return ", ".join(parts)
