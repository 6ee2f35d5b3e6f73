# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The options every module of the collection shares, and their checks, made before any AWS call.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import re

from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import partition_of
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import region_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import DEFAULT_MAX_ATTEMPTS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import DEFAULT_REQUEST_TIMEOUT
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import DEFAULT_STALL_TIMEOUT
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import MIN_RATE_LIMIT

_ACCOUNT_ID = re.compile(r"^\d{12}$")


def tuning_argument_spec(concurrency):
    """The options every module shares: how hard and how long it pushes AWS (doc fragment kms_tuning)."""
    return dict(
        max_attempts=dict(type="int", default=DEFAULT_MAX_ATTEMPTS),
        concurrency=dict(type="int", default=concurrency),
        rate_limits=dict(type="dict"),
        request_timeout=dict(type="int", default=DEFAULT_REQUEST_TIMEOUT),
        stall_timeout=dict(type="int", default=DEFAULT_STALL_TIMEOUT),
    )


TUNING_COUNTS = ("concurrency", "max_attempts", "request_timeout", "stall_timeout")


def tuning_errors(params, known_operations, prefix=""):
    """Messages for the tuning options every module shares; ``prefix`` names them as the role's variables."""
    errors = [prefix + problem for problem in rate_limit_errors(params.get("rate_limits"), known_operations)]
    for name in TUNING_COUNTS:
        value = params.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            errors.append("%s%s must be a whole number of 1 or more, got %r" % (prefix, name, value))
    return errors


def rate_limit_errors(rate_limits, known_operations):
    """Messages for rate_limits entries that name no known operation or no sane rate."""
    if rate_limits is not None and not isinstance(rate_limits, dict):
        return ["rate_limits must be a dict of operation name to requests per second, for example {EnableKeyRotation: 50}"]
    errors = []
    for operation, rate in (rate_limits or {}).items():
        if operation not in known_operations:
            errors.append(
                "rate_limits: unknown operation '%s'; use one of %s"
                % (operation, ", ".join(sorted(known_operations)))
            )
        elif isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate >= MIN_RATE_LIMIT:
            errors.append(
                "rate_limits: %s must be a number of requests per second of at least %s, got %r"
                % (operation, MIN_RATE_LIMIT, rate)
            )
    return errors


_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")


def assume_role_argument_spec():
    """The options that run a module as a role of another account (doc fragment assume_role)."""
    return dict(
        assume_role_arn=dict(type="str"),
        assume_role_session_name=dict(type="str", default="keyguard-kms"),
        assume_role_external_id=dict(type="str", no_log=False),
    )


def parse_role_arn(role_arn):
    """The (partition, account ID) of an IAM role ARN, or None when it is not one."""
    match = _ROLE_ARN.match(role_arn or "")
    return match.groups() if match else None


def role_arn_error(role_arn, partition):
    """Why a role ARN cannot be assumed for Regions of ``partition``, or None."""
    parsed = parse_role_arn(role_arn)
    if not parsed:
        return "assume_role_arn must be an IAM role ARN like arn:aws:iam::111122223333:role/keyguard-kms, got %r" % (
            role_arn,)
    if partition and parsed[0] != partition:
        return "assume_role_arn %s is in partition %s but the Regions are in partition %s: write arn:%s:iam::..." % (
            role_arn, parsed[0], partition, partition)
    return None


def account_id_errors(option, values):
    """Messages for values of ``option`` that are not 12-digit AWS account IDs."""
    return ["%s: '%s' is not a 12-digit account ID" % (option, value) for value in values or []
            if not _ACCOUNT_ID.match(str(value))]


def connection_errors(params, regions, known_operations):
    """What every module checks before its first call: Regions, tuning and the role to assume."""
    errors = region_errors(regions) if regions else ["no Region: set regions, region, or the AWS_REGION "
                                                     "environment variable"]
    errors.extend(tuning_errors(params, known_operations))
    if params.get("assume_role_arn") and regions:
        problem = role_arn_error(params["assume_role_arn"], partition_of(regions[0]))
        if problem:
            errors.append(problem)
    return errors
