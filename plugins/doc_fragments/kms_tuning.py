# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # How hard the modules push KMS: retries and request rates, shared by both modules.
    DOCUMENTATION = r"""
options:
  max_attempts:
    description:
      - Most tries of one KMS call, the first included. Throttling, KMS internal errors and dropped
        connections are retried with full-jitter exponential backoff until then; a key whose call still
        fails is C(ERROR) with the AWS error, and the other keys go on.
    type: int
    default: 10
  rate_limits:
    description:
      - Requests per second allowed for each KMS operation, overriding KMS's default quotas
        (for example C(EnableKeyRotation=15), C(CancelKeyDeletion=5), C(EnableKey=5), C(DescribeKey=2000)).
      - Raise them for an account whose quotas AWS raised; lower them to leave room for other
        workloads in the same account and Region. Throttling is retried either way.
    type: dict
"""
