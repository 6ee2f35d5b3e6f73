# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""List every key of a Region with its rotation status and verdict.

Per Region: one paginated ListKeys and one paginated ListAliases, then per key
DescribeKey, GetKeyRotationStatus (only where it means something) and, when
asked, ListResourceTags, on a bounded thread pool. Keys given by key ARN are
read directly, without ListKeys. A key that cannot be read is reported as ERROR
with every field that was read, never dropped; aliases are optional data, so a
Region whose aliases cannot be listed is reported without them, with a warning.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import datetime
import threading

from ansible_collections.keyguard.kms.plugins.module_utils._rules import material as material_rules
from ansible_collections.keyguard.kms.plugins.module_utils._rules import plans
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._rules.counting import count_by
from ansible_collections.keyguard.kms.plugins.module_utils._rules import selection
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._engine.material import MaterialReader
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.concurrency import map_concurrently


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


def alias_targets(aliases):
    """{alias name or alias ARN: key ID}."""
    targets = dict((alias["AliasName"], alias.get("TargetKeyId")) for alias in aliases)
    targets.update((alias["AliasArn"], alias.get("TargetKeyId")) for alias in aliases if alias.get("AliasArn"))
    return targets


def key_record(region, metadata, status, aliases, tags, desired, error=None, material=None):
    """What discovery says of one key; ``error`` (a AwsError) makes it ERROR with every field read so far.
    ``material``: its material view (_rules.material.material_view; a replica's is its primary's), the evidence
    of when its material was last replaced and, with a cryptoperiod, part of the verdict (None: not read)."""
    view = rotation.rotation_view(status)
    evidence = material or material_rules.material_view(None, None, None)
    if error is None:
        compliance, reason, message = rotation.verdict_as_found(metadata, status, desired, material)
    else:
        compliance, reason = rotation.ERROR, error.code
        message = "key %s in %s could not be read: %s" % (metadata.get("KeyId"), region, error.message)
    primary_arn, primary_region = rotation.primary_key(metadata)
    steps, planned_from = _remediation(metadata, status, desired, material, error)
    record = {
        "key_id": metadata["KeyId"],
        "key_arn": metadata.get("Arn"),
        "account_id": metadata.get("AWSAccountId"),
        "region": region,
        "aliases": aliases,
        "description": metadata.get("Description", ""),
        "key_state": metadata.get("KeyState"),
        "key_manager": metadata.get("KeyManager"),
        "key_spec": rotation.key_spec(metadata) if "KeyManager" in metadata else None,
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
        "last_rotation_date": _iso(evidence["last_rotation_date"]),
        "last_rotation_type": evidence["last_rotation_type"],
        "key_material_age_days": evidence["key_material_age_days"],
        "on_demand_rotations_left": evidence["on_demand_rotations_left"],
        "pending_key_material": evidence["pending_key_material"],
        "key_material_from_primary": evidence.get("from_primary"),
        "compliance": compliance,
        "reason": reason,
        "message": message,
        "remediation_steps": steps,
        "plan_state": planned_from,
    }
    if tags is not None:
        record["tags"] = tags
    return record


def _remediation(metadata, status, desired, material, error):
    """(the steps a remediation would take, the state they rest on): what a plan file records of the key.
    The material is part of it only with a cryptoperiod, the only time kms_rotation reads it."""
    if error is not None or "KeyManager" not in metadata:
        return [], None
    material = material if desired.get("max_key_material_age_days") else None
    planned = rotation.plan(metadata, status, dict(desired, pending_deletion="cancel"), material)
    steps = plans.steps_of(planned)
    return steps, plans.plan_state(metadata, status, material, steps)


class RegionScanner:
    def __init__(self, service, options):
        """``options``: key_ids, tag_filters (normalized), include_tags, include_aws_managed,
        desired (from _rules.rotation.kms4_desired), concurrency, evidence (read each key's rotation history),
        service_for_region (the KMS service of another Region, where a replica's primary is)."""
        self.service = service
        self.options = options
        self.material = MaterialReader(service, options.get("service_for_region"))
        self.warnings = []
        self.aliases_listed = None
        self._lock = threading.Lock()
        self._evidence_warned = False

    def scan(self):
        """The records of the Region's keys; self.warnings says what could not be read."""
        region = self.service.region
        references = self.options.get("key_ids")
        direct = [ref for ref in references or [] if rotation.arn_region(ref) == region and ":key/" in ref]
        by_listing = [ref for ref in references or [] if rotation.arn_region(ref) is None or ":alias/" in ref]
        aliases = self._aliases()
        targets = alias_targets(aliases)
        listed = []
        if references is None or by_listing:
            listed = self.service.list_keys()
            if references is not None:
                wanted = set(selection.key_id_of(ref, targets) for ref in by_listing
                             if rotation.arn_region(ref) in (None, region))
                listed = [key for key in listed if key["KeyId"] in wanted]
        seen = set(key["KeyId"] for key in listed)
        listed += [{"KeyId": selection.key_id_of(ref, {}), "KeyArn": ref, "direct": True} for ref in direct
                   if selection.key_id_of(ref, {}) not in seen]
        alias_map = aliases_by_key(aliases)

        def read(key):
            return self._read(key, alias_map.get(key["KeyId"], []))

        records = map_concurrently(read, listed, self.options.get("concurrency", 8))
        return [record for record in records if record is not None]

    def _aliases(self):
        try:
            aliases = self.service.list_aliases()
            self.aliases_listed = True
            return aliases
        except AwsError as error:
            self.aliases_listed = False
            self.warnings.append(
                "aliases of Region %s could not be listed, so keys are reported without them: %s"
                % (self.service.region, error.message))
            return []

    def _read(self, listed, aliases):
        options = self.options
        region = self.service.region
        metadata = {"KeyId": listed["KeyId"], "Arn": listed.get("KeyArn")}
        status = tags = None
        try:
            metadata = self.service.describe_key(listed["KeyId"] if not listed.get("direct") else listed["KeyArn"])
            if metadata.get("KeyManager") == "AWS" and not options.get("include_aws_managed"):
                return None
            if options.get("include_tags") or options.get("tag_filters"):
                # AWS managed keys cannot be tagged (and ListResourceTags is refused on them).
                tags = {} if metadata.get("KeyManager") == "AWS" else self.service.list_tags(metadata["KeyId"])
                if not selection.tags_match_all(tags, options.get("tag_filters") or {}):
                    return None
                if not options.get("include_tags"):
                    tags = None
            if rotation.needs_rotation_status(metadata, options["desired"]):
                status = self.service.get_rotation_status(metadata["KeyId"])
            if options["desired"].get("max_key_material_age_days"):
                # The cryptoperiod's verdict rests on the history: a refusal makes the key ERROR.
                material = self.material.view(metadata)
            else:
                material = self._evidence(metadata)
        except AwsError as error:
            if listed.get("direct") and error.code == "NotFoundException":
                return None
            return key_record(region, metadata, None, aliases, tags, options["desired"], error)
        return key_record(region, metadata, status, aliases, tags, options["desired"], material=material)

    def _evidence(self, metadata):
        """The key's material view when evidence is asked for and it can have one; None otherwise. A refusal
        leaves the evidence out (with one warning per Region), not the verdict."""
        if not self.options.get("evidence"):
            return None
        try:
            return self.material.view(metadata)
        except AwsError as error:
            with self._lock:
                if not self._evidence_warned:
                    self._evidence_warned = True
                    self.warnings.append("the rotation history of keys in Region %s could not be read, so their "
                                         "last rotation and key material age are left out: %s" % (
                                             self.service.region, error.message))
            return None


def summarize_keys(records):
    """Counts per compliance, per reason and per Region (each with its counts per compliance)."""
    by_region = {}
    for region, count in count_by(records, "region").items():
        by_region[region] = dict(count_by([r for r in records if r["region"] == region], "compliance"), total=count)
    return {
        "total": len(records),
        "by_compliance": count_by(records, "compliance", rotation.COMPLIANCE_VALUES),
        "by_reason": count_by(records, "reason"),
        "by_region": by_region,
    }
