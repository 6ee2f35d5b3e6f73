#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rotation_result
short_description: Internal to the rotation role - hand a host its outcome of the inventory-wide phases
version_added: 1.0.0
description:
  - A task of the M(keyguard.kms.rotation) role; runs on the controller, calls no AWS API.
  - The phases run once for every account of the play (M(keyguard.kms.rotation_phase)); this gives each host what its
    own tasks would have shown - whether its keys or findings were changed (predicted in check mode), the per-key
    diff with C(--diff) - and fails the host with O(failure) when it is not empty.
author:
  - keyguard.kms contributors (@keyguard)
options:
  failure:
    description: Why the host fails; an empty or blank text means it does not.
    type: str
  phases:
    description: This host's results of the phases that can change something, as M(keyguard.kms.rotation_phase) returns them.
    type: list
    elements: raw
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what the phases predicted.
  diff_mode:
    support: full
    description: Shows the diff of every key and finding the phases changed for this host.
  action:
    support: full
    description: Runs on the controller as an action plugin.
seealso:
  - module: keyguard.kms.rotation_phase
"""

EXAMPLES = r"""
- name: Result | This host's changes, and its failure
  keyguard.kms.rotation_result:
    failure: "{{ report.failure or '' }}"
    phases: ["{{ rescued }}", "{{ enforced }}"]
"""

RETURN = r"""
changed:
  description: Whether any of O(phases) changed something for this host.
  returned: always
  type: bool
diff:
  description: With C(--diff), the per-key and per-finding diffs of O(phases).
  returned: when something changed in diff mode
  type: list
  elements: dict
"""
