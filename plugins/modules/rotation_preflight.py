#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rotation_preflight
short_description: Internal to the rotation role - check its inputs before any AWS call
version_added: 0.1.0
description:
  - The first task of the M(keyguard.kms.rotation) role (see its C(meta/argument_specs.yml)); runs on the controller.
  - Checks every role variable the role acts on, strictly (a string is not taken for a list), and fails with a
    message that names the variable and says what to write instead.
  - Creates the report folder and tries a write in it, so a run never changes keys and then fails to report.
  - In a real remediation, takes the target's run lock last (see the role's O(rotation_lock_timeout)), so two
    remediations of one target from one controller never act at once.
  - Resolves the Regions (O(rotation_regions), else C(AWS_REGION), C(AWS_DEFAULT_REGION) or the profile's region)
    and their partition, and returns the normalized settings the role's later tasks use.
  - Old spellings that still work (C(rotation_pending_deletion=report), C(rotation_batch_size),
    C(rotation_batch_timeout)) give a deprecation warning.
author:
  - keyguard.kms contributors (@keyguard)
options:
  mode:
    description: The role's entry point, V(remediate) or V(report).
    type: str
    choices: [remediate, report]
    default: remediate
  awx_job_id:
    description: The AWX or Automation Controller job ID, when there is one; it says that the controller's disk does not outlive the job.
    type: raw
  rotation_regions:
    description: As the role variable.
    type: raw
  rotation_aws_profile:
    description: As the role variable.
    type: str
  rotation_aws_access_key:
    description: As the role variable; only checked against O(rotation_aws_profile).
    type: str
  rotation_assume_role_arn:
    description: As the role variable.
    type: str
  rotation_pending_deletion:
    description: As the role variable.
    type: raw
  rotation_state:
    description: As the role variable.
    type: raw
  rotation_period_days:
    description: As the role variable.
    type: raw
  rotation_exempt_keys:
    description: As the role variable.
    type: raw
  rotation_exempt_tags:
    description: As the role variable.
    type: raw
  rotation_include_aws_managed:
    description: As the role variable.
    type: bool
  rotation_concurrency:
    description: As the role variable.
    type: raw
  rotation_max_attempts:
    description: As the role variable.
    type: raw
  rotation_rate_limits:
    description: As the role variable.
    type: raw
  rotation_request_timeout:
    description: As the role variable.
    type: raw
  rotation_stall_timeout:
    description: As the role variable.
    type: raw
  rotation_batch_size:
    description: Deprecated role variable; ignored with a warning.
    type: raw
  rotation_batch_timeout:
    description: Deprecated role variable; ignored with a warning.
    type: raw
  rotation_report_dir:
    description: As the role variable; when not given, C(keyguard-reports) in the working directory of the run.
    type: raw
  rotation_report_formats:
    description: As the role variable.
    type: raw
  rotation_lock_dir:
    description: As the role variable.
    type: raw
  rotation_lock_timeout:
    description: As the role variable.
    type: raw
  aws_account_error:
    description: Set by the M(keyguard.kms.aws_accounts) inventory plugin on a host whose account it could not read; the host then fails here.
    type: raw
  rotation_fail_on_noncompliant:
    description: As the role variable.
    type: bool
  rotation_scope:
    description: As the role variable.
    type: raw
  rotation_securityhub_update:
    description: As the role variable.
    type: bool
  rotation_securityhub_suppress_exempt:
    description: As the role variable.
    type: bool
  rotation_securityhub_region:
    description: As the role variable.
    type: raw
  rotation_report_s3_uri:
    description: As the role variable.
    type: raw
  rotation_report_s3_region:
    description: As the role variable.
    type: raw
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
"""
