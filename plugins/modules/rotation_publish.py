#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rotation_publish
short_description: Internal to the rotation role - publish every host's report files to S3 at once
version_added: 1.0.0
description:
  - A task of the M(keyguard.kms.rotation) role, run once (C(run_once)) for the play's current batch of hosts.
  - For each host it reads that host's own variables and puts each of its report files to S3 (C(PutObject), with a
    content type from the file name), with the role's own credentials (not the assumed role's), on threads, with
    no module process per file and host.
  - Runs in check mode too, as reports are what a check-mode run is for. A failed upload fails only its host, in the
    role's Result task, naming the S3 URI and why.
author:
  - keyguard.kms contributors (@keyguard)
options:
  task:
    description:
      - The name of the role variable holding, per host, C(uploads) (each with C(src), C(bucket), C(key) and C(uri)),
        C(region) and C(connection) (the role's C(rotation_aws_*) connection variables).
    type: str
    required: true
attributes:
  check_mode:
    support: none
    description: Publishes in check mode too.
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
- name: Report | Publish the report files to S3
  keyguard.kms.rotation_publish:
    task: __rotation_publish_task
  run_once: true
  register: __rotation_published_all
"""

RETURN = r"""
hosts:
  description: Per host of the batch, C(uploads) (each upload with C(uri), C(failed) and C(msg)) and C(failed).
  returned: always
  type: dict
"""
