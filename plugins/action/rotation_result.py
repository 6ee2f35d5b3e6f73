# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""This host's outcome of the rotation role's inventory-wide phases (docs: modules/rotation_result.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=dict(
            failure=dict(type="str"),
            phases=dict(type="list", elements="raw", default=[]),
        ))
        phases = [phase for phase in args["phases"] if isinstance(phase, dict) and not phase.get("skipped")]
        result["changed"] = any(phase.get("changed") for phase in phases)
        if self._task.diff:
            diffs = []
            for phase in phases:
                diff = phase.get("diff") or []
                diffs.extend(diff if isinstance(diff, list) else [diff])
            if diffs:
                result["diff"] = diffs
        failure = (args["failure"] or "").strip()
        if failure:
            result.update(failed=True, msg=failure)
        return result
