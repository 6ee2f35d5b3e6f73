# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A write-ahead journal of rescues, so an interrupted run never strands a key Disabled.

CancelKeyDeletion leaves a key Disabled; if the run dies before EnableKey, the
next run would see an ordinary disabled key and, rightly, leave it alone. So the
key is recorded before its deletion is cancelled and struck off once the rescue
is complete; a key still in the journal and Disabled is a rescue to finish.

This is a private module: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os
import threading
from contextlib import contextmanager


def pending_from_text(text):
    """Key ARNs whose rescue started and did not finish, from the journal's lines."""
    pending = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("+") and line[1:] not in pending:
            pending.append(line[1:])
        elif line.startswith("-") and line[1:] in pending:
            pending.remove(line[1:])
    return pending


class RescueJournal:
    """One journal may be shared by parallel runs (one per Region): every access takes a file lock."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self):
        directory = os.path.dirname(self.path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory)
        with self._lock:
            with open(self.path + ".lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self):
        try:
            with open(self.path) as handle:
                return set(pending_from_text(handle.read()))
        except (IOError, OSError):
            return set()

    def pending(self):
        with self._locked():
            return self._read()

    def _append(self, line):
        with self._locked():
            with open(self.path, "a") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def started(self, key_arn):
        self._append("+" + key_arn)

    def finished(self, key_arn):
        self._append("-" + key_arn)

    def compact(self):
        """Rewrite the journal with only the unfinished rescues (remove it when there are none)."""
        with self._locked():
            remaining = sorted(self._read())
            if not remaining:
                if os.path.exists(self.path):
                    os.remove(self.path)
                return
            temporary = self.path + ".tmp"
            with open(temporary, "w") as handle:
                handle.write("".join("+%s\n" % arn for arn in remaining))
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temporary, self.path)
