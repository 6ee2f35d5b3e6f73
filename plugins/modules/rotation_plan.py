#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rotation_plan
short_description: Internal to the rotation role - decide which keys its KMS.3 and KMS.4 phases handle
version_added: 1.0.0
description:
  - A task of the M(keyguard.kms.rotation) role; runs on the controller, calls no AWS API.
  - From the keys discovery found, leaves out exempt keys (by reference or tag) and keys that are not applicable
    or could not be read, and returns the key ARNs that KMS.3 rescues (keys pending deletion) and those whose
    rotation KMS.4 changes.
  - Decides from this run's discovery alone; nothing from an earlier run is read.
author:
  - keyguard.kms contributors (@keyguard)
options:
  settings:
    description: The RV(keyguard.kms.rotation_preflight#module:settings) of the run.
    type: dict
    required: true
  discovery:
    description: The registered result of M(keyguard.kms.kms_rotation_info), judged against the role's rotation.
    type: dict
    required: true
  findings:
    description:
      - The registered result of M(keyguard.kms.kms_findings_info). With the scope V(findings), only keys with an
        active finding are handled, and none when the findings could not be read.
    type: dict
    default: {}
  approved_plan:
    description:
      - The approved plan the preflight loaded and checked (RV(keyguard.kms.rotation_preflight#module:approved_plan)).
        Only its keys are handled, each only while discovery finds it in the state it was planned from and needing
        the approved steps.
    type: dict
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing to compare.
  action:
    support: full
    description: Runs on the controller as an action plugin.
seealso:
  - module: keyguard.kms.rotation_preflight
  - module: keyguard.kms.kms_rotation
"""

EXAMPLES = r"""
- name: Plan | Decide which keys each phase handles
  keyguard.kms.rotation_plan:
    settings: "{{ run.settings }}"
    discovery: "{{ discovery }}"
  register: plan
"""

RETURN = r"""
rescue:
  description: Key ARNs for KMS.3; empty unless the run's C(pending_deletion) is V(cancel).
  returned: always
  type: list
  elements: str
enforce:
  description: Key ARNs whose rotation KMS.4 changes.
  returned: always
  type: list
  elements: str
exempt:
  description: Exempt keys with C(key_id), C(key_arn), C(region), C(key_state) and C(reason).
  returned: always
  type: list
  elements: dict
out_of_scope:
  description: Key ARNs left alone because the scope is V(findings) and they have no active finding.
  returned: always
  type: list
  elements: str
not_rescued:
  description:
    - Keys that would be rescued but are not, with C(key_arn), C(region) and C(reason); the report lists them as errors.
    - A key pending deletion in a Region whose aliases could not be listed is not rescued when some exemption is by alias,
      as it might be the exempt one.
  returned: always
  type: list
  elements: dict
approved_rescue:
  description: With O(approved_plan), the plan entries of the keys in RV(rescue), by key ARN, for kms_rotation to check again.
  returned: with O(approved_plan)
  type: dict
approved_enforce:
  description: With O(approved_plan), the plan entries of the keys in RV(enforce), by key ARN.
  returned: with O(approved_plan)
  type: dict
plan_stale:
  description: With O(approved_plan), keys of the plan left alone because they changed since, with C(key_arn), C(region), C(reason) and C(message).
  returned: with O(approved_plan)
  type: list
  elements: dict
not_in_plan:
  description: With O(approved_plan), keys a run would change that are not in the plan, left alone; as RV(plan_stale).
  returned: with O(approved_plan)
  type: list
  elements: dict
"""
