#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rotation_phase
short_description: Internal to the rotation role - run one phase for every account of the play at once
version_added: 1.0.0
description:
  - A task of the M(keyguard.kms.rotation) role, run once (C(run_once)) for the play's current batch of hosts
    (C(ansible_play_batch)); hosts that failed earlier are left out.
  - For each host it reads that host's own variables (as a task of that host would see them), templates the phase's
    variable O(task) and the role's connection and tuning, and runs O(module)'s own code for the host, with the
    module's argument spec, checks and result, but without a module process per host.
  - The AWS calls are made on the controller, as with C(connection=local), by one forked process per core it may
    use (a cgroup CPU limit, as an execution environment's pod has, counts), each working on its share of the
    accounts on threads; at most C(forks) accounts are worked on at once. A process that dies fails its own
    accounts only, saying that what they changed is not known.
  - One host's failure never stops the others; each host's result is in RV(hosts), and the role's per-host tasks
    hand it back to that host.
author:
  - keyguard.kms contributors (@keyguard)
options:
  module:
    description: The collection's module whose work the phase does for each host.
    type: str
    required: true
    choices: [kms_findings, kms_findings_info, kms_rotation, kms_rotation_info]
  task:
    description:
      - The name of the role variable holding, per host, C(when) (whether the host has work in this phase) and C(args)
        (the module's arguments).
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description: Each host's module runs in check mode.
  diff_mode:
    support: full
    description: Each host's module returns its diff in its own result.
  action:
    support: full
    description: Runs on the controller as an action plugin.
seealso:
  - module: keyguard.kms.kms_rotation
  - module: keyguard.kms.kms_rotation_info
"""

EXAMPLES = r"""
- name: KMS.4 | Bring rotation to the wanted state, every account of the play at once
  keyguard.kms.rotation_phase:
    module: kms_rotation
    task: __rotation_kms4_task
  run_once: true
  register: __rotation_enforced_all
"""

RETURN = r"""
hosts:
  description:
    - Per host of the batch, the result O(module) returns for it (with C(failed) and C(msg) when it failed), or
      C(skipped) when the host had nothing to do in this phase.
  returned: always
  type: dict
msg:
  description: How many hosts the phase ran for, changed and failed.
  returned: always
  type: str
"""
