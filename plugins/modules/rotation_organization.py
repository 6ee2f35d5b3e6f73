#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rotation_organization
short_description: Internal to the rotation role - the Organization report across every host of the play or a folder
version_added: 1.0.0
description:
  - Internal to the M(keyguard.kms.rotation) role, run once for the play on the controller; calls no AWS API.
  - Reads this run's report of every host in O(hosts) and writes, in the report folder of the host it runs for,
    C(organization.json), C(organization.csv) (one row per key, for spreadsheets and audit evidence),
    C(organization.md), C(organization.junit.xml) and C(organization.html) (one self-contained page, usable with no
    network), each replaced atomically, and keeps the JSON as C(history/organization/<started>-<kind>.json).
  - Compliance per OU, account and Region, as a percentage of COMPLIANT among COMPLIANT, NON_COMPLIANT and ERROR keys
    (NOT_APPLICABLE and EXEMPT left out); the keys that need action, those that need their owner, the exemptions,
    what this run changed, and the trend since the previous Organization report of the same folder.
author:
  - keyguard.kms contributors (@keyguard)
options:
  settings:
    description: With O(hosts), the settings of the rotation role's preflight, of the host the task runs for.
    type: dict
  hosts:
    description: The hosts of the play (C(ansible_play_hosts_all)); one without a report of this run is listed as such.
    type: list
    elements: str
  source:
    description:
      - Instead of O(hosts), the reports already written - a folder of C(<host>.json), or the S3 URI they were published
        to (the latest C(<host>/<started>-<run id>/<host>.json) of each host); the role's C(summary) entry point.
      - S3 is read with the role's connection variables (C(rotation_aws_profile), keys, C(rotation_aws_endpoint_url)).
    type: str
  report_dir:
    description: With O(source), where the Organization report is written; C(keyguard-reports) in the working directory when unset.
    type: path
  report_s3_uri:
    description: With O(source), the S3 URI whose C(organization/<started>-<run id>/) the files are published under (RV(uploads)).
    type: str
  report_s3_region:
    description: With O(source), the Region of the buckets.
    type: str
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode; reports are what a check-mode run is for.
  diff_mode:
    support: none
    description: Nothing to compare.
  action:
    support: full
    description: Runs on the controller as an action plugin.
seealso:
  - module: keyguard.kms.rotation_report
"""

EXAMPLES = r"""
- name: Report | The Organization report across every host of the play
  keyguard.kms.rotation_organization:
    settings: "{{ __rotation_settings }}"
    hosts: "{{ ansible_play_hosts_all }}"
  run_once: true
"""

RETURN = r"""
files:
  description: The Organization report files written.
  returned: always
  type: list
  elements: str
uploads:
  description: Where each file goes in S3 (C(src), C(bucket), C(key), C(uri)); empty without an S3 URI.
  returned: always
  type: list
  elements: dict
history:
  description: This run's Organization report, kept under C(history/organization/).
  returned: always
  type: str
summary:
  description:
    - Counts per compliance, keys, accounts and accounts compliant, the compliance percentage, keys that need
      action and that need their owner, hosts without a report, and C(line), one sentence a notification can carry.
  returned: always
  type: dict
stats:
  description: The set_stats data, under C(keyguard_kms_organization) - the summary, with C(reports) and C(history).
  returned: always
  type: dict
"""
