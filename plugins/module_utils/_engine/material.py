# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read how old a key's current material is: its rotation history, or for a multi-Region replica its primary's.

One ListKeyRotations per key (paced at its quota of 100 requests per second); a replica shares its primary's
material, so the primary is read in its own Region once for each Region whose replicas ask (one reader per Region).

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import datetime
import threading

from ansible_collections.keyguard.kms.plugins.module_utils._rules import material as material_rules
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError


class MaterialReader:
    """Material views of the keys of one Region; ``service_for_region`` gives the KMS service of a primary's Region."""

    def __init__(self, service, service_for_region=None):
        self.service = service
        self.service_for_region = service_for_region
        self._primaries = {}
        self._lock = threading.Lock()

    def can_read(self, metadata):
        return rotation.has_rotation_history(metadata) or (
            rotation.multi_region_type(metadata) == "REPLICA" and self.service_for_region is not None
            and metadata.get("KeyState") in ("Enabled", "Disabled") and metadata.get("KeyManager") != "AWS"
            and rotation.key_spec(metadata) == "SYMMETRIC_DEFAULT" and metadata.get("Origin") == "AWS_KMS")

    def view(self, metadata, now=None):
        """The key's material view (material_rules.material_view), or None when it has none to read.

        Raises AwsError when the history cannot be read.
        """
        now = now or datetime.datetime.now(datetime.timezone.utc)
        if not self.can_read(metadata):
            return None
        if rotation.multi_region_type(metadata) == "REPLICA":
            # A replica's verdict never rests on its material (its primary's is judged there): what cannot be
            # read of its primary leaves the evidence out, never the verdict.
            try:
                return self._primary_view(metadata, now)
            except AwsError:
                return None
        return material_rules.material_view(metadata.get("CreationDate"), self._history(self.service, metadata), now)

    @staticmethod
    def _history(service, metadata):
        if metadata.get("Origin") == "EXTERNAL":
            if not service.lists_key_material():
                return material_rules.history_read(service.list_rotations(metadata["KeyId"]), pending=None)
            completed, pending = material_rules.split_listing(service.list_rotations(metadata["KeyId"], True))
            return material_rules.history_read(completed, pending)
        return material_rules.history_read(service.list_rotations(metadata["KeyId"]))

    def _primary_view(self, metadata, now):
        arn, region = rotation.primary_key(metadata)
        with self._lock:
            cached = self._primaries.get(arn)
        if cached is not None:
            return cached
        service = self.service if region == self.service.region else self.service_for_region(region)
        primary = service.describe_key(arn)
        if not rotation.has_rotation_history(primary):
            return None
        view = material_rules.material_view(primary.get("CreationDate"), self._history(service, primary), now)
        view["from_primary"] = arn
        with self._lock:
            self._primaries[arn] = view
        return view
