# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run lock: one remediation of a target at a time, and no lock outlives its run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.keyguard.kms.plugins.plugin_utils._role import run_lock


def test_a_live_run_holds_the_lock_and_a_second_run_waits_then_gives_up(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        first = run_lock.run_owner(holder.pid, host="prod", started="2026-12-01T10:00:00Z", awx_job_id=7)
        assert run_lock.acquire(str(tmp_path), "account-1", first, 0) == (True, None)
        second = run_lock.run_owner(os.getpid(), host="prod")
        waited, clock = [], [0.0]

        def sleep(seconds):
            waited.append(seconds)
            clock[0] += seconds

        announced = []
        held, other = run_lock.acquire(str(tmp_path), "account-1", second, 3, announced.append, sleep,
                                       lambda: clock[0])
        assert (held, other["pid"]) == (False, holder.pid) and sum(waited) == 3 and len(announced) == 1
        assert run_lock.describe(other) == (
            "ansible-playbook PID %d, host prod, started 2026-12-01T10:00:00Z, AWX job 7" % holder.pid)
        assert run_lock.acquire(str(tmp_path), "account-2", second, 0)[0], "another target is free"
    finally:
        holder.kill()
        holder.wait()
    # The holder is gone (killed, never released): its lock is stale and the next run takes it at once.
    assert run_lock.acquire(str(tmp_path), "account-1", second, 0) == (True, None)


def test_release_gives_back_only_ones_own_lock(tmp_path):
    me = run_lock.run_owner(os.getpid())
    assert run_lock.acquire(str(tmp_path), "t", me, 0)[0]
    run_lock.release(str(tmp_path), "t", dict(me, pid=1))
    assert (tmp_path / "t.lock").read_text() != ""
    run_lock.release(str(tmp_path), "t", me)
    assert (tmp_path / "t.lock").read_text() == ""


def test_a_reused_pid_is_not_the_holder(tmp_path):
    me = run_lock.run_owner(os.getpid())
    (tmp_path / "t.lock").write_text('{"pid": %d, "process_start": %d}' % (os.getpid(), me["process_start"] - 1))
    other = run_lock.run_owner(os.getppid())
    assert run_lock.acquire(str(tmp_path), "t", other, 0) == (True, None)


def test_two_hosts_of_one_run_for_one_target_are_refused_at_once(tmp_path):
    first = run_lock.run_owner(os.getpid(), host="a")
    assert run_lock.acquire(str(tmp_path), "t", first, 0)[0]
    with pytest.raises(run_lock.LockRefused, match="host a of this same run already works on it"):
        run_lock.acquire(str(tmp_path), "t", dict(first, host="b"), 300)


def test_a_folder_others_can_write_in_or_a_linked_lock_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    me = run_lock.run_owner(os.getpid(), host="a")
    with pytest.raises(run_lock.LockRefused, match="others can write in it"):
        run_lock.acquire(str(shared), "t", me, 0)
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(str(victim), str(mine / "t.lock"))
    with pytest.raises(OSError):
        run_lock.acquire(str(mine), "t", me, 0)
    assert victim.read_text() == "precious"
