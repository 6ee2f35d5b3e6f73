# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: count task starts and module processes per host, written to $KEYGUARD_TASK_COUNTS."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: task_counter
type: aggregate
short_description: Count task starts and module processes for the benchmarks
description:
  - Writes, at the end of the run, the number of task starts and, per host, of results that came from a module
    process (those carry C(invocation); loop items and retries each count) to the JSON file named by E(KEYGUARD_TASK_COUNTS).
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_counter"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.task_starts = 0
        self.modules = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.task_starts += 1

    def _count(self, result):
        if "invocation" in result._result:
            host = result._host.get_name()
            self.modules[host] = self.modules.get(host, 0) + 1

    # Loop items and retries (e.g. async_status polls) are module processes of their own.
    v2_runner_on_ok = v2_runner_item_on_ok = v2_runner_item_on_failed = v2_runner_retry = _count

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("KEYGUARD_TASK_COUNTS")
        if path:
            with open(path, "w") as handle:
                json.dump({"task_starts": self.task_starts, "module_processes": self.modules}, handle)
