#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rotation_report
short_description: Internal to the rotation role - build and write its run report on the controller
version_added: 1.0.0
description:
  - Internal to the M(keyguard.kms.rotation) role (two of its tasks), not meant for playbooks of their own; runs on
    the controller, calls no AWS API.
  - Without O(draft), builds the report into a draft file beside the reports (RV(draft)) and returns what to record
    on each Security Hub finding (RV(finding_updates)). With O(draft), adds what was done to the findings
    (O(findings_updated)), writes the report files and removes the draft.
  - Combines discovery, the per-key results of KMS.3 and KMS.4 and verification into one report, every key with
    its verdict before and after and the actions taken (planned, in check mode), and writes it as
    C(<host>.json) (schema C(roles/rotation/files/report.schema.json)), C(<host>.md) and C(<host>.junit.xml), each
    file replaced atomically.
  - Any of the phase results may be missing (a phase that did not run, or failed as a whole); a discovery that
    failed is reported as a run error, so the report is always written.
  - Returns the summary, the data to publish with M(ansible.builtin.set_stats), and the reason the host fails, if
    it does.
author:
  - keyguard.kms contributors (@keyguard)
options:
  settings:
    description: The RV(keyguard.kms.rotation_preflight#module:settings) of the run.
    type: dict
    required: true
  discovery:
    description: The registered result of M(keyguard.kms.kms_rotation_info).
    type: dict
    default: {}
  plan:
    description: The registered result of M(keyguard.kms.rotation_plan).
    type: dict
    default: {}
  rescued:
    description: The registered result of the KMS.3 M(keyguard.kms.kms_rotation) task.
    type: dict
    default: {}
  enforced:
    description: The registered result of the KMS.4 M(keyguard.kms.kms_rotation) task.
    type: dict
    default: {}
  verified:
    description: The registered result of the verification M(keyguard.kms.kms_rotation_info) task.
    type: dict
    default: {}
  findings:
    description: The registered result of the M(keyguard.kms.kms_findings_info) task, if any; keys are marked with theirs.
    type: dict
    default: {}
  draft:
    description: The RV(draft) this action built; given, the action writes the report files from it.
    type: path
  findings_updated:
    description: The registered result of the M(keyguard.kms.kms_findings) task, if any; with O(draft), what was done to each finding.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Writes the report in check mode too; a check-mode run's report is its point.
  diff_mode:
    support: none
    description: The report files change every run (timestamps); that says nothing about the keys.
  action:
    support: full
    description: Runs on the controller as an action plugin.
seealso:
  - module: keyguard.kms.rotation_plan
"""

EXAMPLES = r"""
- name: Report | Write the report files
  keyguard.kms.rotation_report:
    settings: "{{ run.settings }}"
    discovery: "{{ discovery }}"
    plan: "{{ plan }}"
    rescued: "{{ rescued | default({}) }}"
    enforced: "{{ enforced | default({}) }}"
    verified: "{{ verified | default({}) }}"
  register: report
"""

RETURN = r"""
draft:
  description: The file that holds the run report until it is written, hidden in the report folder.
  returned: without O(draft)
  type: str
finding_updates:
  description:
    - What to record on each Security Hub finding of a key this run checked, for M(keyguard.kms.kms_findings) (each
      with C(finding_id), C(product_arn), C(region), C(workflow_status) and C(note); null fields are left as they are).
    - A finding somebody suppressed gets none, and a note somebody else wrote is never replaced.
  returned: without O(draft)
  type: list
  elements: dict
files:
  description: The report files written.
  returned: with O(draft)
  type: list
  elements: str
  sample: [/runner/project/keyguard-reports/prod.json]
summary:
  description: Counts before and after per compliance, keys changed, actions, exemptions and errors.
  returned: always
  type: dict
history:
  description:
    - This run's JSON report kept as C(history/<host>/<started>-<kind>.json) in the report folder (C(kind) is C(report),
      C(check) or C(remediate)), never overwritten; a second run of one host started in the same second has its run ID
      in the name too. The latest run stays at C(<host>.json).
  returned: with O(draft)
  type: str
uploads:
  description:
    - Where each report file goes when the run publishes its reports to S3 (C(src), C(bucket), C(key), C(uri)), under
      C(<prefix><host>/<started>-<run id>/), so no run overwrites another's; empty otherwise.
  returned: with O(draft)
  type: list
  elements: dict
stats:
  description:
    - The data to publish with M(ansible.builtin.set_stats) for AWX, under a key of this host's own,
      C(keyguard_kms_rotation__<host>), so that AWX's shallow merge of sliced jobs and workflow nodes keeps every host. A
      host name with characters other than ASCII letters, digits and C(_) is a slug plus a short hash of the exact name.
    - The value is the summary with C(target), C(account_id), C(mode), C(check_mode), C(finished), C(reports) (the
      files written) and C(report_uris) (where they are published in S3).
  returned: with O(draft)
  type: dict
failure:
  description: Why the host fails (errors, keys still not as wanted, or a report run's non-compliance when asked); null when it passes.
  returned: with O(draft)
  type: str
"""
