# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # How hard and how long the modules push AWS: retries, request rates and timeouts, shared by every module.
    DOCUMENTATION = r"""
options:
  max_attempts:
    description:
      - Most tries of one AWS call, the first included. Throttling, internal errors and dropped
        connections are retried with full-jitter exponential backoff until then; an item whose call still
        fails is C(ERROR) with the AWS error, and the other items go on.
    type: int
    default: 10
  rate_limits:
    description:
      - Requests per second allowed for each operation, overriding the default quotas (for KMS for
        example C(EnableKeyRotation=15), C(CancelKeyDeletion=5), C(EnableKey=5), C(DescribeKey=2000); for
        Security Hub C(GetFindings=3), C(BatchUpdateFindings=10)).
      - Raise them for an account whose quotas AWS raised; lower them to leave room for other
        workloads in the same account and Region. Throttling is retried either way.
      - Each rate must be at least 0.1 requests per second.
    type: dict
  request_timeout:
    description:
      - Seconds to wait for a connection to the endpoint and for each answer. A request that gets no
        answer in time is retried as a dropped connection.
    type: int
    default: 15
  stall_timeout:
    description:
      - Seconds a Region's endpoint may go without answering any request (every request timing out or
        dropping) before the module gives up on that Region. Its items are then C(ERROR) with reason
        C(ENDPOINT_UNRESPONSIVE) and a message naming the endpoint; other Regions go on.
      - So a hung endpoint ends a task after about O(stall_timeout) plus O(request_timeout) seconds.
    type: int
    default: 120
"""
