# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A write-ahead journal of rescues, so an interrupted run does not strand a key Disabled.

CancelKeyDeletion leaves a key Disabled; if the run dies before EnableKey, the
next run sees a disabled key and, rightly, leaves it to its owner. So a key is
recorded before its deletion is cancelled and struck off once it is enabled
again. The journal must never become a reason to enable a key its owner has
disabled since, so a record is honoured only while the key is exactly as an
interrupted rescue leaves it (Disabled), only by the next remediation run, and
only for a limited time:

* any sighting of the key in another state (Enabled, PendingDeletion, ...) ends
  the record, whoever looks (discovery, check mode, a report run);
* the next run that acts on the key consumes the record, whether or not it
  manages to finish the rescue;
* a record older than the maximum age is dropped.

What it cannot see: a key that someone enables and disables again between the
interrupted run and the next one looks exactly like one left by the rescue.

This is a private module: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import fcntl
import os
import threading
from contextlib import contextmanager

DEFAULT_MAX_AGE_DAYS = 7
# The only state an interrupted rescue leaves a key in.
STATE_LEFT_BY_RESCUE = "Disabled"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def parse_records(text):
    """{key ARN: start time (aware datetime, or None when unreadable)} of the rescues begun and not ended."""
    records = {}
    for line in (text or "").splitlines():
        fields = line.strip().split()
        if not fields or fields[0] not in ("+", "-") or len(fields) < 2:
            continue
        if fields[0] == "-":
            records.pop(fields[1], None)
            continue
        started = None
        if len(fields) > 2:
            try:
                started = datetime.datetime.strptime(fields[2], _TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
            except ValueError:
                started = None
        records[fields[1]] = started
    return records


def record_is_live(started, now, max_age_days):
    """A record without a readable time, or older than the maximum age, is not honoured."""
    return started is not None and datetime.timedelta(0) <= now - started <= datetime.timedelta(days=max_age_days)


def path_error(path):
    """Why ``path`` cannot hold a journal, or None; creates its folder, never the file."""
    if not path or not str(path).strip():
        return "the rescue journal path is empty: give a file path, or leave it unset"
    path = os.path.abspath(os.path.expanduser(str(path)))
    if os.path.isdir(path):
        return "the rescue journal path %s is a folder: give a file path inside it, for example %s" % (
            path, os.path.join(path, "rescue-journal"))
    folder = os.path.dirname(path)
    try:
        if not os.path.isdir(folder):
            os.makedirs(folder)
    except OSError as error:
        return "cannot create the folder of the rescue journal %s: %s" % (path, error.strerror or error)
    if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK)):
        return "cannot write the rescue journal %s: check the permissions of %s" % (path, folder)
    return None


class RescueJournal:
    """One journal file; every access takes a file lock, as several runs may share it."""

    def __init__(self, path, max_age_days=DEFAULT_MAX_AGE_DAYS, clock=utc_now):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.max_age_days = max_age_days
        self._clock = clock
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self):
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
                return parse_records(handle.read())
        except (IOError, OSError) as error:
            if error.errno == errno.ENOENT:
                return {}
            raise

    def _append(self, line):
        with self._locked():
            with open(self.path, "a") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def live_records(self):
        """{key ARN: start time} of the records still honoured."""
        if not os.path.exists(self.path):
            return {}
        now = self._clock()
        with self._locked():
            return dict((arn, started) for arn, started in self._read().items()
                        if record_is_live(started, now, self.max_age_days))

    def begin(self, key_arn):
        """Recorded, and on disk, before CancelKeyDeletion is sent."""
        self._append("+ %s %s" % (key_arn, self._clock().strftime(_TIME_FORMAT)))

    def end(self, key_arn):
        self._append("- %s" % key_arn)

    def observe(self, key_arn, key_state, records):
        """Whether ``key_arn`` is an interrupted rescue to finish, seen in ``key_state``.

        ``records`` is live_records() as read at the start of the run. A key seen in
        any state but the one a rescue leaves has been changed since: its record ends.
        """
        if key_arn not in records:
            return False
        if key_state == STATE_LEFT_BY_RESCUE:
            return True
        self.end(key_arn)
        return False

    def compact(self):
        """Rewrite the journal with only its live records; remove it when there are none."""
        if not os.path.exists(self.path):
            return
        now = self._clock()
        with self._locked():
            live = sorted((arn, started) for arn, started in self._read().items()
                          if record_is_live(started, now, self.max_age_days))
            if not live:
                os.remove(self.path)
                return
            temporary = self.path + ".tmp"
            with open(temporary, "w") as handle:
                handle.write("".join("+ %s %s\n" % (arn, started.strftime(_TIME_FORMAT)) for arn, started in live))
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temporary, self.path)
