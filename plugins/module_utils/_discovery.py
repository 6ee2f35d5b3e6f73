# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""List every key of a Region with its rotation status and KMS.4 verdict.

Per Region: one paginated ListKeys and one paginated ListAliases, then per key
DescribeKey, GetKeyRotationStatus (only where it means something) and, when
asked, ListResourceTags, on a bounded thread pool. A key that cannot be read is
reported as ERROR with its message, never dropped.

This is a private module: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.keyguard.kms.plugins.module_utils import _rotation as rotation
from ansible_collections.keyguard.kms.plugins.module_utils._kms import KmsError
from ansible_collections.keyguard.kms.plugins.module_utils._kms import map_concurrently


def _iso(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def aliases_by_key(aliases):
    """{key_id: [alias names]} from one ListAliases listing; predefined unbacked aliases are skipped."""
    mapping = {}
    for alias in aliases:
        target = alias.get("TargetKeyId")
        if target:
            mapping.setdefault(target, []).append(alias["AliasName"])
    for names in mapping.values():
        names.sort()
    return mapping


def reference_matcher(references, aliases):
    """A predicate telling whether a listed key is one of ``references`` (IDs, ARNs, alias names or ARNs)."""
    if not references:
        return None
    wanted = set()
    alias_targets = dict((alias["AliasName"], alias.get("TargetKeyId")) for alias in aliases)
    alias_targets.update((alias["AliasArn"], alias.get("TargetKeyId")) for alias in aliases if alias.get("AliasArn"))
    for reference in references:
        if reference in alias_targets:
            wanted.add(alias_targets[reference])
        elif ":key/" in reference:
            wanted.add(reference.split(":key/", 1)[1])
        else:
            wanted.add(reference)
    return lambda listed: listed["KeyId"] in wanted


def tags_match(tags, tag_filters):
    """Every filter tag present with (one of) the value(s) given; an empty value list means any value."""
    for name, values in (tag_filters or {}).items():
        if name not in tags:
            return False
        if values and tags[name] not in values:
            return False
    return True


def key_record(region, metadata, status, aliases, tags, max_rotation_period_days):
    compliance, reason, message = rotation.judge_kms4(metadata, status, max_rotation_period_days)
    view = rotation.rotation_view(status)
    primary_arn, primary_region = rotation.primary_key(metadata)
    record = {
        "key_id": metadata["KeyId"],
        "key_arn": metadata.get("Arn"),
        "account_id": metadata.get("AWSAccountId"),
        "region": region,
        "aliases": aliases,
        "description": metadata.get("Description", ""),
        "key_state": metadata.get("KeyState"),
        "key_manager": metadata.get("KeyManager"),
        "key_spec": rotation.key_spec(metadata),
        "key_usage": metadata.get("KeyUsage"),
        "origin": metadata.get("Origin"),
        "custom_key_store_id": metadata.get("CustomKeyStoreId"),
        "multi_region": bool(metadata.get("MultiRegion")),
        "multi_region_type": rotation.multi_region_type(metadata),
        "primary_key_arn": primary_arn,
        "primary_region": primary_region,
        "creation_date": _iso(metadata.get("CreationDate")),
        "deletion_date": _iso(metadata.get("DeletionDate")),
        "rotation_enabled": view["rotation_enabled"],
        "rotation_period_days": view["rotation_period_days"],
        "next_rotation_date": _iso((status or {}).get("NextRotationDate")),
        "compliance": compliance,
        "reason": reason,
        "message": message,
    }
    if tags is not None:
        record["tags"] = tags
    return record


def error_record(region, key_id, key_arn, error):
    return {
        "key_id": key_id,
        "key_arn": key_arn,
        "region": region,
        "aliases": [],
        "key_state": None,
        "rotation_enabled": None,
        "rotation_period_days": None,
        "compliance": rotation.ERROR,
        "reason": error.code,
        "message": "key %s in %s could not be read: %s" % (key_id, region, error.message),
    }


class RegionScanner:
    def __init__(self, service, options):
        """``options``: key_ids, tag_filters, include_tags, include_aws_managed,
        max_rotation_period_days, concurrency."""
        self.service = service
        self.options = options

    def scan(self):
        region = self.service.region
        listed = self.service.list_keys()
        aliases = self.service.list_aliases()
        alias_map = aliases_by_key(aliases)
        matcher = reference_matcher(self.options.get("key_ids"), aliases)
        if matcher:
            listed = [key for key in listed if matcher(key)]

        def read(key):
            try:
                return self._read(key, alias_map.get(key["KeyId"], []))
            except KmsError as error:
                return error_record(region, key["KeyId"], key.get("KeyArn"), error)

        records = map_concurrently(read, listed, self.options.get("concurrency", 8))
        return [record for record in records if record is not None]

    def _read(self, listed, aliases):
        options = self.options
        metadata = self.service.describe_key(listed["KeyId"])
        if metadata.get("KeyManager") == "AWS" and not options.get("include_aws_managed"):
            return None
        tags = None
        if options.get("include_tags") or options.get("tag_filters"):
            # AWS managed keys cannot be tagged (and ListResourceTags is refused on them).
            tags = {} if metadata.get("KeyManager") == "AWS" else self.service.list_tags(metadata["KeyId"])
            if not tags_match(tags, options.get("tag_filters")):
                return None
            if not options.get("include_tags"):
                tags = None
        status = None
        if rotation.needs_rotation_status(metadata):
            status = self.service.get_rotation_status(metadata["KeyId"])
        return key_record(self.service.region, metadata, status, aliases, tags, options.get("max_rotation_period_days"))


def summarize(records):
    """Counts per compliance, per reason and per Region."""
    summary = {
        "total": len(records),
        "by_compliance": dict((name, 0) for name in (
            rotation.COMPLIANT, rotation.NON_COMPLIANT, rotation.NOT_APPLICABLE, rotation.ERROR)),
        "by_reason": {},
        "by_region": {},
    }
    for record in records:
        summary["by_compliance"][record["compliance"]] = summary["by_compliance"].get(record["compliance"], 0) + 1
        if record["reason"]:
            summary["by_reason"][record["reason"]] = summary["by_reason"].get(record["reason"], 0) + 1
        region = summary["by_region"].setdefault(record["region"], {"total": 0})
        region["total"] += 1
        region[record["compliance"]] = region.get(record["compliance"], 0) + 1
    return summary
