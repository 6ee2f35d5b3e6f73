# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private service layer: the only place that calls KMS.

Retries, pacing, timeouts and error messages come from _aws; this module knows
KMS's default request quotas, each list operation's page size, and the state
errors KMS answers for a moment after a state change.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import random

from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsService

# KMS default request quotas per account and Region (requests per second).
# Adjustable by AWS per account, hence overridable through the modules' rate_limits.
DEFAULT_RATE_LIMITS = {
    "ListKeys": 500.0,
    "ListAliases": 500.0,
    "ListResourceTags": 2000.0,
    "DescribeKey": 2000.0,
    "GetKeyRotationStatus": 1000.0,
    "ListKeyRotations": 100.0,
    "EnableKeyRotation": 15.0,
    "DisableKeyRotation": 5.0,
    "CancelKeyDeletion": 5.0,
    "EnableKey": 5.0,
    "RotateKeyOnDemand": 5.0,
}

# The largest Limit each list operation accepts (KMS API reference). botocore's shared shape
# allows 1000 for all of them, so botocore does not catch a page size that KMS refuses.
PAGE_SIZES = {"ListKeys": 1000, "ListAliases": 100, "ListResourceTags": 50, "ListKeyRotations": 1000}

# The first botocore whose KMS model knows RotationPeriodInDays (EnableKeyRotation, GetKeyRotationStatus);
# older ones drop the period from answers, so a key rotating every 730 days would look compliant.
BOTOCORE_WITH_ROTATION_PERIODS = "1.34.84"

# Right after CancelKeyDeletion / EnableKey, KMS can still answer with the old state.
STATE_LAG_ERROR_CODES = ("KMSInvalidStateException", "DisabledException")


class KmsService(AwsService):
    """KMS calls for one account and Region."""

    CLIENT = "kms"
    RATE_LIMITS = DEFAULT_RATE_LIMITS
    IAM_PREFIX = "kms"
    SERVICE = "KMS"
    HINTS = {
        "NotFoundException": "check the key ID, ARN or alias and the region option",
        "KMSInvalidStateException": "the key is not in a state that allows {operation}",
        "DisabledException": "the key is disabled",
        "UnsupportedOperationException": "this key does not support {operation}",
        "ValidationException": "check the values given",
    }

    def describe_key(self, reference):
        return self._call("DescribeKey", "describe_key", KeyId=reference)["KeyMetadata"]

    def get_rotation_status(self, key_id):
        return self._call("GetKeyRotationStatus", "get_key_rotation_status", KeyId=key_id)

    def enable_rotation(self, key_id, period=None):
        params = {"KeyId": key_id}
        if period:
            params["RotationPeriodInDays"] = period
        self._after_state_change("EnableKeyRotation", "enable_key_rotation", **params)

    def disable_rotation(self, key_id):
        self._after_state_change("DisableKeyRotation", "disable_key_rotation", KeyId=key_id)

    def cancel_deletion(self, key_id):
        self._call("CancelKeyDeletion", "cancel_key_deletion", KeyId=key_id)

    def enable_key(self, key_id):
        self._after_state_change("EnableKey", "enable_key", KeyId=key_id)

    def _after_state_change(self, operation, method, attempts=6, **params):
        """A write that may follow a state change KMS has not propagated yet.

        Retries the state errors briefly; a key that really is in the wrong state
        still fails, with KMS's own error, once the attempts are spent.
        """
        for attempt in range(attempts):
            try:
                return self._call(operation, method, **params)
            except AwsError as error:
                if error.code not in STATE_LAG_ERROR_CODES or attempt == attempts - 1:
                    raise
                self._sleep(min(5.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0))

    def _paginate(self, operation, method, result_key, **params):
        return self._pages(operation, method, result_key, "Marker", "NextMarker", Limit=PAGE_SIZES[operation], **params)

    def list_keys(self):
        return self._paginate("ListKeys", "list_keys", "Keys")

    def list_aliases(self):
        return self._paginate("ListAliases", "list_aliases", "Aliases")

    def list_rotations(self, key_id, all_key_material=False):
        """The key's completed rotations (automatic and on demand), all pages; with ``all_key_material``, also
        imported material not rotated to yet (IncludeKeyMaterial=ALL_KEY_MATERIAL)."""
        extra = {"IncludeKeyMaterial": "ALL_KEY_MATERIAL"} if all_key_material else {}
        return self._paginate("ListKeyRotations", "list_key_rotations", "Rotations", KeyId=key_id, **extra)

    def lists_key_material(self):
        """Whether this botocore can ask ListKeyRotations for imported material not rotated to yet (2025 and later)."""
        shape = self.client.meta.service_model.operation_model("ListKeyRotations").input_shape
        return "IncludeKeyMaterial" in shape.members

    def rotate_on_demand(self, key_id):
        self._call("RotateKeyOnDemand", "rotate_key_on_demand", KeyId=key_id)

    def list_tags(self, key_id):
        tags = self._paginate("ListResourceTags", "list_resource_tags", "Tags", KeyId=key_id)
        return dict((tag["TagKey"], tag["TagValue"]) for tag in tags)
