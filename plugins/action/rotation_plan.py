# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide which keys the rotation role's KMS.3 and KMS.4 phases handle (docs: modules/rotation_plan.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.keyguard.kms.plugins.plugin_utils._report import finding_updates
from ansible_collections.keyguard.kms.plugins.plugin_utils._role.phases import apply_approved_plan
from ansible_collections.keyguard.kms.plugins.plugin_utils._role.phases import plan_phases


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=dict(
            settings=dict(type="dict", required=True),
            discovery=dict(type="dict", required=True),
            findings=dict(type="dict", default={}),
            approved_plan=dict(type="dict"),
        ))
        settings = args["settings"]
        kms_keys = args["discovery"].get("kms_keys") or []
        without_aliases = [region["region"] for region in args["discovery"].get("region_results") or []
                           if region.get("aliases_listed") is False]
        found, _error = finding_updates.findings_outcome(args["findings"], settings, kms_keys)
        phases = plan_phases(kms_keys, settings, without_aliases, found,
                             finding_updates.findings_blind_regions(args["findings"], settings))
        if args["approved_plan"] is not None:
            # A plan of another account changes nothing; the report says why and the Result task fails the host.
            phases = apply_approved_plan(phases, kms_keys, args["approved_plan"])
        result.update(changed=False, **phases)
        return result
