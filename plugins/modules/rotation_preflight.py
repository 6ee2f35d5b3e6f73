#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rotation_preflight
short_description: Internal to the rotation role - check its inputs before any AWS call
version_added: 1.0.0
description:
  - The first task of the M(keyguard.kms.rotation) role (see its C(meta/argument_specs.yml)); runs on the controller.
  - Checks every role variable the role acts on, strictly (a string is not taken for a list), and fails with a
    message that names the variable and says what to write instead.
  - Creates the report folder and tries a write in it, so a run never changes keys and then fails to report.
  - In a real remediation, takes the target's run lock last (see the role variable C(rotation_lock_timeout)), so two
    remediations of one target from one controller never act at once.
  - Resolves the Regions (C(rotation_regions), else C(AWS_REGION), C(AWS_DEFAULT_REGION) or the profile's region)
    and their partition, and returns the normalized settings the role's later tasks use.
author:
  - keyguard.kms contributors (@keyguard)
options:
  mode:
    description: The role's entry point, V(remediate) or V(report).
    type: str
    choices: [remediate, report]
    default: remediate
notes:
  - Reads the role's variables itself, every one that C(roles/rotation/meta/argument_specs.yml) lists (the one list of
    them), templated, from the host's variables; and C(aws_account_error), which the M(keyguard.kms.aws_accounts)
    inventory plugin sets on an account it could not read, and the AWX job ID (C(awx_job_id) or C(tower_job_id)).
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode; it creates the report folder, which check mode writes to as well.
  diff_mode:
    support: none
    description: Nothing to compare.
  action:
    support: full
    description: Runs on the controller as an action plugin.
seealso:
  - module: keyguard.kms.rotation_plan
  - module: keyguard.kms.rotation_report
"""

EXAMPLES = r"""
- name: Preflight | Check the inputs before any AWS call
  keyguard.kms.rotation_preflight:
    mode: report
  vars:
    rotation_regions: [eu-west-1]
    rotation_exempt_keys:
      - key: alias/legacy-export
        reason: "CHG-1042: decommissioned"
  register: run
"""

RETURN = r"""
settings:
  description: The normalized settings the role's later tasks use.
  returned: always
  type: dict
  contains:
    regions: {description: The Regions to work in., type: list, elements: str, returned: always}
    partition: {description: Their AWS partition., type: str, returned: always}
    pending_deletion: {description: V(cancel) or V(keep)., type: str, returned: always}
    exempt_keys: {description: "Exemptions as C(key) and C(reason).", type: list, elements: dict, returned: always}
    exempt_tags: {description: "Exempting tags, name to accepted values (empty: any).", type: dict, returned: always}
    report_dir: {description: Absolute path of the report folder., type: str, returned: always}
    report_name: {description: The host name made safe for file names and S3 keys., type: str, returned: always}
    run_id: {description: Tells apart two runs of one host started in the same second., type: str, returned: always}
    interrupted_rescues_file: {description: Where KMS.3 notes the rescues it leaves half-way if the run is killed., type: str, returned: always}
    lock: {description: "The run lock: C(folder), C(target), C(timeout), and C(held) once taken.", type: dict, returned: always}
    started: {description: When the run started (UTC)., type: str, returned: always}
  sample:
    regions: [eu-west-1]
    partition: aws
    pending_deletion: cancel
    report_dir: /runner/project/keyguard-reports
approved_plan:
  description:
    - With C(rotation_approved_plan) set (a role variable), the plan document, checked - this host's and account's,
      unedited (its digest), young enough, made with this run's settings; null otherwise. Any problem fails the
      preflight, before any AWS call.
  returned: always
  type: dict
approved_plan_source:
  description: Where the approved plan was read (a path or an S3 URI); null without one.
  returned: with an approved plan
  type: str
"""
