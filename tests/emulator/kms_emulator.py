"""moto's KMS with the rules real AWS KMS enforces (see shared KMS_FACTS.md).

moto accepts rotation calls that real KMS rejects and skips several fields, so a
test that only runs against plain moto cannot catch a rule violation. This module
patches moto in-process and serves it on loopback, with two extra endpoints:

* ``GET /_emulator/state``: every key of every account and Region, as JSON, for
  byte-for-byte comparisons before and after a check-mode run.
* ``GET /_emulator/requests`` / ``DELETE /_emulator/requests``: the operations
  received so far (service, operation, account, Region, key), to prove what was called.
* ``GET /_emulator/findings``: every Security Hub finding (see securityhub_rules.py).
* ``POST /_emulator/key-material``: set a key's age, rotation history, an on-demand rotation in progress or
  its next automatic rotation, which no KMS call can (see set_key_material).
* ``/_emulator/faults``: throttling, quotas, latency, errors, dropped connections,
  denials and eventual consistency on demand, per account (see faults.py).

Run it with ``python tests/emulator/kms_emulator.py --port 5000``. It is test
tooling and is excluded from the built collection.
"""

import argparse
import io
import functools
import json
import logging
import os
import re
import threading
import time
from copy import copy
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

from moto.core import responses as moto_responses
from moto.core.exceptions import JsonRESTError
from moto.iam.models import get_account_id_from
from moto.kms import models as kms_models
from moto.kms.models import KmsBackend, Key, kms_backends
from moto.kms.responses import KmsResponse
from moto.kms.utils import RESERVED_ALIASES
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from faults import FaultInjector
from account_rules import apply_account_rules
from iam_rules import apply_iam_rules, assume_role_refusal, denied_response
from operations import credential, operation_of
from securityhub_rules import all_findings, apply_securityhub_rules

LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|::1)$")
REST_JSON_SERVICES = ("securityhub", "account")
DEFAULT_ROTATION_PERIOD = 365
MIN_ROTATION_PERIOD = 90
MAX_ROTATION_PERIOD = 2560
CUSTOM_KEY_STORE_ORIGINS = ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
UNSUPPORTED_SPEC_PREFIXES = ("RSA_", "ECC_", "SM2", "ML_DSA_", "HMAC_")


class KMSInvalidStateException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("KMSInvalidStateException", message)


class DisabledException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("DisabledException", message)


class UnsupportedOperationException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("UnsupportedOperationException", message)


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("ValidationException", message)


class ConflictException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("ConflictException", message)


class LimitExceededException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("LimitExceededException", message)


ON_DEMAND_ROTATION_LIMIT = 25
CONFLICT_WINDOW = timedelta(minutes=20)


class LazyPrivateKey:
    """moto makes an RSA key for every key it creates; only sign/verify need it."""

    def __init__(self, key_spec, factory):
        self._key_spec = key_spec
        self._factory = factory
        self._key = None
        self._lock = threading.Lock()

    def __getattr__(self, name):
        with self._lock:
            if self._key is None:
                self._key = self._factory(self._key_spec)
        return getattr(self._key, name)


def _now():
    return datetime.now(timezone.utc)


def _is_custom_key_store(key):
    return key.origin in CUSTOM_KEY_STORE_ORIGINS or bool(getattr(key, "custom_key_store_id", None))


def _is_replica(key):
    return bool(key.multi_region) and key.multi_region_configuration["MultiRegionKeyType"] == "REPLICA"


def _rotation_refusal(key):
    """The error real KMS returns for Enable/DisableKeyRotation on this key, or None."""
    arn = key.arn
    if key.key_manager == "AWS":
        return UnsupportedOperationException(f"{arn} is an AWS managed key; its rotation cannot be changed.")
    if _is_custom_key_store(key):
        return UnsupportedOperationException(f"{arn} is in a custom key store; automatic rotation is not supported.")
    if key.origin == "EXTERNAL":
        return UnsupportedOperationException(f"{arn} has imported key material; automatic rotation is not supported.")
    if key.key_spec.startswith(UNSUPPORTED_SPEC_PREFIXES):
        return UnsupportedOperationException(f"{arn} has key spec {key.key_spec}; automatic rotation is not supported.")
    if _is_replica(key):
        return UnsupportedOperationException(f"{arn} is a multi-Region replica key; set rotation on its primary key.")
    if key.key_state == "Disabled":
        return DisabledException(f"{arn} is disabled.")
    if key.key_state != "Enabled":
        return KMSInvalidStateException(f"{arn} is {key.key_state}.")
    return None


def _key_from_request(response):
    key_id = response._get_param("KeyId")
    response._validate_cmk_id(key_id)
    return response.kms_backend.keys[response.kms_backend.get_key_id(key_id)]


# --- model patches -----------------------------------------------------------

_original_key_init = Key.__init__
_original_to_dict = Key.to_dict


def _key_init(self, *args, **kwargs):
    _original_key_init(self, *args, **kwargs)
    self.rotation_period_days = None
    self.next_rotation_date = None
    self.custom_key_store_id = None
    self.on_demand_started = None
    self.automatic_rotation_running = False
    self.pending_key_material = False
    if self.origin == "EXTERNAL":
        # Real KMS creates keys for imported material without any: PendingImport.
        self.key_state = "PendingImport"
        self.enabled = False


def _key_to_dict(self):
    result = _original_to_dict(self)
    metadata = result["KeyMetadata"]
    metadata["KeyManager"] = self.key_manager
    if self.custom_key_store_id:
        metadata["CustomKeyStoreId"] = self.custom_key_store_id
    if self.multi_region:
        metadata["MultiRegionConfiguration"] = json.loads(json.dumps(self.multi_region_configuration))
    return result


def _describe_key(self, key_id):
    # moto flips the primary's type to REPLICA here through a shared dict; the
    # type is fixed when the replica is made instead.
    return self.keys[self.any_id_to_key_id(key_id)]


def _replicate_key(self, key_id, replica_region):
    primary = self.keys[self.get_key_id(key_id)]
    replica = copy(primary)
    replica.region = replica_region
    replica.arn = primary.arn.replace(f":{self.region_name}:", f":{replica_region}:")
    replica.aliases = {}
    replica.grants = {}
    replica.rotations = []
    replica.multi_region_configuration = {
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": {"Arn": primary.arn, "Region": self.region_name},
        "ReplicaKeys": [],
    }
    primary.multi_region_configuration["ReplicaKeys"].append({"Arn": replica.arn, "Region": replica_region})
    kms_backends[self.account_id][replica_region].keys[replica.id] = replica
    return replica


def _generate_default_keys(self, alias_name):
    if alias_name not in RESERVED_ALIASES:
        return None
    key = self.create_key(None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "Default key", None)
    key.key_manager = "AWS"
    key.description = f"Default key that protects my {alias_name.split('/')[-1]} data when no other key is defined"
    # AWS rotates its managed keys every year.
    key.key_rotation_status = True
    key.rotation_period_days = DEFAULT_ROTATION_PERIOD
    key.next_rotation_date = _now() + timedelta(days=DEFAULT_ROTATION_PERIOD)
    self.create_alias(key.id, alias_name)
    return key.id


# --- API patches -------------------------------------------------------------

_original_create_key = KmsResponse.create_key


def _create_key(self):
    origin = self._get_param("Origin") or "AWS_KMS"
    custom_key_store_id = self._get_param("CustomKeyStoreId")
    if origin in CUSTOM_KEY_STORE_ORIGINS and not custom_key_store_id:
        raise ValidationException(f"A CustomKeyStoreId is required for Origin {origin}.")
    body = json.loads(_original_create_key(self))
    key = self.kms_backend.keys[body["KeyMetadata"]["KeyId"]]
    if custom_key_store_id:
        key.custom_key_store_id = custom_key_store_id
    return json.dumps(key.to_dict())


def _enable_key_rotation(self):
    key = _key_from_request(self)
    period = self._get_param("RotationPeriodInDays")
    if period is not None and not MIN_ROTATION_PERIOD <= int(period) <= MAX_ROTATION_PERIOD:
        raise ValidationException(
            f"1 validation error detected: Value '{period}' at 'rotationPeriodInDays' failed to satisfy "
            f"constraint: Member must have value between {MIN_ROTATION_PERIOD} and {MAX_ROTATION_PERIOD}"
        )
    refusal = _rotation_refusal(key)
    if refusal:
        raise refusal
    key.key_rotation_status = True
    key.rotation_period_days = int(period) if period is not None else DEFAULT_ROTATION_PERIOD
    key.next_rotation_date = _now() + timedelta(days=key.rotation_period_days)
    return json.dumps(None)


def _disable_key_rotation(self):
    key = _key_from_request(self)
    refusal = _rotation_refusal(key)
    if refusal:
        raise refusal
    key.key_rotation_status = False
    key.rotation_period_days = None
    key.next_rotation_date = None
    return json.dumps(None)


def _get_key_rotation_status(self):
    key = _key_from_request(self)
    if _is_custom_key_store(key):
        raise UnsupportedOperationException(f"{key.arn} is in a custom key store; rotation is not supported.")
    # While a key is pending deletion KMS reports rotation as off; cancelling restores it.
    enabled = key.key_rotation_status and key.key_state != "PendingDeletion"
    result = {"KeyId": key.arn, "KeyRotationEnabled": bool(enabled)}
    if enabled and key.rotation_period_days:
        result["RotationPeriodInDays"] = key.rotation_period_days
        result["NextRotationDate"] = key.next_rotation_date.timestamp()
    if key.on_demand_started is not None:
        result["OnDemandRotationStartDate"] = key.on_demand_started.timestamp()
    return json.dumps(result)


def _on_demand_refusal(key):
    """The error real KMS returns for RotateKeyOnDemand on this key, or None."""
    arn = key.arn
    if key.key_manager == "AWS":
        return UnsupportedOperationException(f"{arn} is an AWS managed key; it cannot be rotated on demand.")
    if _is_custom_key_store(key):
        return UnsupportedOperationException(f"{arn} is in a custom key store; it cannot be rotated on demand.")
    if key.key_spec != "SYMMETRIC_DEFAULT":
        return UnsupportedOperationException(f"{arn} has key spec {key.key_spec}; only symmetric encryption keys "
                                             "can be rotated on demand.")
    if _is_replica(key):
        return UnsupportedOperationException(f"{arn} is a multi-Region replica key; rotate its primary key.")
    if key.origin == "EXTERNAL" and key.multi_region:
        return UnsupportedOperationException(f"{arn} is a multi-Region key with imported key material; it cannot be "
                                             "rotated on demand.")
    if key.key_state == "Disabled":
        return DisabledException(f"{arn} is disabled.")
    if key.key_state != "Enabled":
        return KMSInvalidStateException(f"{arn} is {key.key_state}.")
    if key.origin == "EXTERNAL" and not key.pending_key_material:
        return KMSInvalidStateException(f"{arn} has no new key material in PENDING_ROTATION state; import new key "
                                        "material first.")
    due = key.next_rotation_date if key.key_rotation_status else None
    if key.on_demand_started is not None or key.automatic_rotation_running or (
            due is not None and due - _now() <= CONFLICT_WINDOW):
        return ConflictException(f"{arn}: an automatic rotation is in progress or scheduled within 20 minutes.")
    if sum(1 for item in key.rotations if item["RotationType"] == "ON_DEMAND") >= ON_DEMAND_ROTATION_LIMIT:
        return LimitExceededException(f"{arn} has reached the limit of {ON_DEMAND_ROTATION_LIMIT} on-demand "
                                      "rotations.")
    return None


def _rotate_key_on_demand(self):
    key = _key_from_request(self)
    refusal = _on_demand_refusal(key)
    if refusal:
        raise refusal
    # Real KMS starts the rotation and finishes it a little later; here it is done at once.
    key.rotations.append({"KeyId": key.id, "RotationDate": _now().timestamp(), "RotationType": "ON_DEMAND"})
    key.pending_key_material = False
    return json.dumps({"KeyId": key.id})


def _import_key_material(self):
    """ImportKeyMaterial without the cryptography: the first import makes the key usable; NEW_KEY_MATERIAL
    adds material that waits (PENDING_ROTATION) for an on-demand rotation."""
    key = _key_from_request(self)
    if key.origin != "EXTERNAL":
        raise UnsupportedOperationException(f"{key.arn} does not have imported key material.")
    if self._get_param("ImportType") == "NEW_KEY_MATERIAL":
        if key.key_state == "PendingImport":
            raise KMSInvalidStateException(f"{key.arn} has no key material yet: import EXISTING_KEY_MATERIAL first.")
        if key.multi_region:
            raise UnsupportedOperationException(f"{key.arn} is a multi-Region key: it cannot take new key material.")
        key.pending_key_material = True
    elif key.key_state == "PendingImport":
        key.key_state = "Enabled"
        key.enabled = True
    return json.dumps({"KeyId": key.arn, "KeyMaterialId": "material-%d" % (len(key.rotations) + 1)})


def _switch_key(response, enabled):
    """EnableKey / DisableKey: refused while the key is pending deletion, import or unavailable."""
    key = _key_from_request(response)
    if key.key_state in ("PendingDeletion", "PendingReplicaDeletion", "PendingImport", "Unavailable"):
        raise KMSInvalidStateException(f"{key.arn} is {key.key_state}.")
    key.enabled = enabled
    key.key_state = "Enabled" if enabled else "Disabled"
    return json.dumps(None)


def _enable_key(self):
    return _switch_key(self, True)


def _disable_key(self):
    return _switch_key(self, False)


def _cancel_key_deletion(self):
    key = _key_from_request(self)
    if key.key_state != "PendingDeletion":
        raise KMSInvalidStateException(f"{key.arn} is {key.key_state}, not pending deletion.")
    key.key_state = "Disabled"
    key.enabled = False
    key.deletion_date = None
    return json.dumps({"KeyId": key.arn})


def _schedule_key_deletion(self):
    key = _key_from_request(self)
    window = self._get_param("PendingWindowInDays") or 30
    if not 7 <= int(window) <= 30:
        raise ValidationException("PendingWindowInDays must be between 7 and 30.")
    if key.key_state == "PendingDeletion":
        raise KMSInvalidStateException(f"{key.arn} is already pending deletion.")
    key.enabled = False
    key.key_state = "PendingDeletion"
    key.deletion_date = datetime.now() + timedelta(days=int(window))
    return json.dumps({"KeyId": key.arn, "DeletionDate": key.deletion_date.timestamp(),
                       "KeyState": "PendingDeletion", "PendingWindowInDays": int(window)})


# Each list operation's documented Limit range, as (default, maximum); the minimum is 1. Real KMS
# refuses a Limit outside it, although botocore's shared shape lets every one of them ask for 1000.
LIST_LIMITS = {
    "ListKeys": (100, 1000),
    "ListAliases": (50, 100),
    "ListResourceTags": (50, 50),
    "ListKeyRotations": (100, 1000),
}
# Real KMS may return fewer items than Limit asks for; a smaller cap makes tests paginate.
MAX_PAGE_SIZE = [1000]


def _checked_limit(response, operation):
    """The Limit of a list request, refused as real KMS refuses it when out of range."""
    default, maximum = LIST_LIMITS[operation]
    limit = response._get_param("Limit")
    if limit is None:
        return default
    limit = int(limit)
    if limit < 1:
        bound = "greater than or equal to 1"
    elif limit > maximum:
        bound = "less than or equal to %d" % maximum
    else:
        return limit
    raise ValidationException(
        f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value "
        f"{bound}"
    )


def _page(self, operation, items, item_name):
    limit = min(_checked_limit(self, operation), MAX_PAGE_SIZE[0])
    marker = self._get_param("Marker")
    start = 0
    if marker:
        if not marker.isdigit() or int(marker) > len(items):
            raise ValidationException("Could not deserialize marker")
        start = int(marker)
    page = items[start:start + limit]
    result = {item_name: page, "Truncated": start + limit < len(items)}
    if result["Truncated"]:
        result["NextMarker"] = str(start + limit)
    return json.dumps(result)


def _list_keys(self):
    keys = [{"KeyArn": key.arn, "KeyId": key.id} for key in self.kms_backend.list_keys()]
    return _page(self, "ListKeys", keys, "Keys")


def _list_aliases(self):
    key_id = self._get_param("KeyId")
    if key_id is not None:
        self._validate_key_id(key_id)
        key_id = self.kms_backend.get_key_id(key_id)
    aliases = [
        {"AliasArn": alias.alias_arn, "AliasName": alias.alias_name, "TargetKeyId": alias.target_key_id}
        for alias in self.kms_backend.list_aliases(key_id=key_id)
    ]
    if key_id is None:
        # Predefined AWS aliases that no key backs yet come without a TargetKeyId.
        present = {alias["AliasName"] for alias in aliases}
        for name in RESERVED_ALIASES:
            if name not in present:
                aliases.append({
                    "AliasArn": f"arn:aws:kms:{self.region}:{self.current_account}:{name}",
                    "AliasName": name,
                })
    return _page(self, "ListAliases", aliases, "Aliases")


def _list_resource_tags(self):
    key_id = self._get_param("KeyId")
    self._validate_cmk_id(key_id)
    tags = self.kms_backend.list_resource_tags(key_id)["Tags"]
    return _page(self, "ListResourceTags", tags, "Tags")


def _list_key_rotations(self):
    key = _key_from_request(self)
    if key.key_state in ("PendingDeletion", "PendingReplicaDeletion", "PendingImport", "Unavailable"):
        raise KMSInvalidStateException(f"{key.arn} is {key.key_state}.")
    if key.key_manager != "AWS" and (key.key_spec != "SYMMETRIC_DEFAULT" or _is_custom_key_store(key)):
        raise UnsupportedOperationException(f"{key.arn} has key spec {key.key_spec}; it has no rotations to list.")
    include = self._get_param("IncludeKeyMaterial") or "ROTATIONS_ONLY"
    if include not in ("ROTATIONS_ONLY", "ALL_KEY_MATERIAL"):
        raise ValidationException(f"Value '{include}' at 'includeKeyMaterial' failed to satisfy constraint.")
    rotations = sorted(key.rotations, key=lambda item: item["RotationDate"])
    items = [dict(item, KeyId=key.arn) for item in rotations]
    if include == "ALL_KEY_MATERIAL" and key.pending_key_material:
        items.append({"KeyId": key.arn, "KeyMaterialId": "pending", "KeyMaterialState": "PENDING_ROTATION",
                      "ImportState": "IMPORTED"})
    return _page(self, "ListKeyRotations", items, "Rotations")


def set_key_material(account, region, body):
    """Test seeding: what no KMS call can set. ``body``: key_id and any of created_days_ago, rotations (a list of
    {days_ago, type}), on_demand_in_progress (bool), automatic_rotation_in_progress (bool: no read shows it, but
    RotateKeyOnDemand answers ConflictException), next_rotation_in_minutes."""
    backend = kms_backends[account][region]
    key = backend.keys[backend.get_key_id(body["key_id"])]
    now = _now()
    if "created_days_ago" in body:
        key.creation_date = (now - timedelta(days=body["created_days_ago"])).timestamp()
    if "rotations" in body:
        key.rotations = [{"KeyId": key.id, "RotationDate": (now - timedelta(days=item["days_ago"])).timestamp(),
                          "RotationType": item.get("type", "AUTOMATIC")} for item in body["rotations"]]
    if "on_demand_in_progress" in body:
        key.on_demand_started = now - timedelta(minutes=5) if body["on_demand_in_progress"] else None
    if "automatic_rotation_in_progress" in body:
        key.automatic_rotation_running = bool(body["automatic_rotation_in_progress"])
    if "next_rotation_in_minutes" in body:
        key.next_rotation_date = now + timedelta(minutes=body["next_rotation_in_minutes"])
    return {"key_id": key.id}


@functools.cache  # moto is patched once per process
def apply_kms_rules():
    """Patch moto so that its KMS answers as AWS documents (idempotent)."""
    eager_factory = kms_models.generate_private_key
    kms_models.generate_private_key = lambda key_spec: LazyPrivateKey(key_spec, eager_factory)
    Key.__init__ = _key_init
    Key.to_dict = _key_to_dict
    KmsBackend.describe_key = _describe_key
    KmsBackend.replicate_key = _replicate_key
    KmsBackend._generate_default_keys = _generate_default_keys
    KmsResponse.create_key = _create_key
    KmsResponse.enable_key_rotation = _enable_key_rotation
    KmsResponse.disable_key_rotation = _disable_key_rotation
    KmsResponse.get_key_rotation_status = _get_key_rotation_status
    KmsResponse.enable_key = _enable_key
    KmsResponse.disable_key = _disable_key
    KmsResponse.cancel_key_deletion = _cancel_key_deletion
    KmsResponse.schedule_key_deletion = _schedule_key_deletion
    KmsResponse.list_keys = _list_keys
    KmsResponse.list_aliases = _list_aliases
    KmsResponse.list_resource_tags = _list_resource_tags
    KmsResponse.list_key_rotations = _list_key_rotations
    KmsResponse.rotate_key_on_demand = _rotate_key_on_demand
    KmsResponse.import_key_material = _import_key_material


# --- state and request recording --------------------------------------------

def _iso(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def snapshot_state(account=None):
    """Every key of every account (or of one) and Region, in a stable order."""
    state = []
    for account_id in sorted(a for a in kms_backends.keys() if account is None or a == account):
        for region in sorted(kms_backends[account_id].keys()):
            backend = kms_backends[account_id][region]
            for key in sorted(backend.keys.values(), key=lambda k: k.id):
                metadata = key.to_dict()["KeyMetadata"]
                state.append({
                    "account": account_id,
                    "region": region,
                    "metadata": metadata,
                    "rotation_enabled": key.key_rotation_status,
                    "rotation_period_days": key.rotation_period_days,
                    "next_rotation_date": _iso(key.next_rotation_date),
                    "rotations": sorted(item["RotationDate"] for item in key.rotations),
                    "on_demand_rotations": sum(1 for item in key.rotations if item["RotationType"] == "ON_DEMAND"),
                    "pending_key_material": key.pending_key_material,
                    "deletion_date": _iso(key.deletion_date),
                    "aliases": sorted(key.aliases),
                    "tags": backend.tagger.list_tags_for_resource(key.id),
                })
    return state


class RecordingApp:
    """WSGI wrapper: records each KMS operation and serves the /_emulator endpoints."""

    def __init__(self, app):
        self.app = app
        self.requests = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        # ?account= answers for one account: a test's own, not the whole session's growing history.
        account = (parse_qs(environ.get("QUERY_STRING", "")).get("account") or [None])[0]
        if path == "/_emulator/state":
            return self._json(start_response, snapshot_state(account))
        if path == "/_emulator/key-material" and environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            return self._json(start_response, set_key_material(body["account"], body["region"], body))
        if path == "/_emulator/findings":
            return self._json(start_response, all_findings())
        if path == "/_emulator/requests":
            with self.lock:
                if environ["REQUEST_METHOD"] == "DELETE":
                    self.requests.clear()
                return self._json(start_response, [request for request in self.requests
                                                   if account is None or request["account"] == account])
        self._select_account(environ)
        self._record(environ)
        if environ.get("keyguard.operation") == ("sts", "AssumeRole"):
            refusal = assume_role_refusal(environ["wsgi.input"].getvalue(), credential(environ)[0],
                                          environ.get("keyguard.account"))
            if refusal:
                return denied_response(start_response, refusal)
        if (environ.get("keyguard.operation") or (None,))[0] in REST_JSON_SERVICES:
            return self._json_errors(environ, start_response)
        return self.app(environ, start_response)

    def _json_errors(self, environ, start_response):
        """moto answers an IAM denial of a REST-JSON service in XML; AWS answers AccessDeniedException in JSON."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        denied = re.search(rb"<Code>AccessDenied</Code><Message>(.*?)</Message>", body)
        if captured["status"].startswith("403") and denied:
            body = json.dumps({"__type": "AccessDeniedException", "message": denied.group(1).decode()}).encode()
            captured["headers"] = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException"),
                                   ("Content-Length", str(len(body)))]
        start_response(captured["status"], captured["headers"])
        return [body]

    @staticmethod
    def _select_account(environ):
        """A 12-digit access key ID selects that account, so tests can keep accounts apart.

        Other keys (an IAM user's, assumed-role credentials) belong to the account moto knows them by.
        """
        access_key = credential(environ)[0]
        if access_key and re.match(r"^\d{12}$", access_key) and "HTTP_X_MOTO_ACCOUNT_ID" not in environ:
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = access_key
        environ["keyguard.account"] = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or (
            get_account_id_from(access_key) if access_key else None)

    def _record(self, environ):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        # Give the body back to moto.
        environ["wsgi.input"] = io.BytesIO(body)
        service, operation = operation_of(environ, body)
        environ["keyguard.operation"] = (service, operation)
        if operation is None:
            return
        key_id = None
        if service in ("kms", "account", "organizations"):
            # The resource a request is about, so faults can deny one key, or one member account.
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
            key_id = params.get("KeyId") or params.get("AccountId") or params.get("ResourceId")
        environ["keyguard.key_id"] = key_id
        access_key, region, _service = credential(environ)
        with self.lock:
            self.requests.append({
                "time": time.time(),
                "service": service,
                "operation": operation,
                "account": environ.get("keyguard.account"),
                "access_key": access_key,
                "region": region,
                "key_id": key_id,
            })

    @staticmethod
    def _json(start_response, payload):
        body = json.dumps(payload, sort_keys=True, default=str).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering each host name's backend: moto lists its package directory and tries its URL
    patterns on every request, under a lock, which was a fifth of the emulator's time."""

    def __init__(self, create_app):
        super().__init__(create_app)
        self._backends = {}

    def get_backend_for_host(self, host):
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


def make_emulator(host="127.0.0.1", port=0, max_page_size=1000):
    """A ready-to-serve werkzeug server (threaded) with the KMS rules applied."""
    if not LOOPBACK.match(host):
        raise SystemExit(f"refusing to listen on {host}: the emulator only serves loopback addresses")
    MAX_PAGE_SIZE[0] = max_page_size
    apply_kms_rules()
    apply_securityhub_rules()
    apply_account_rules()
    apply_iam_rules()
    # moto lists a response class's methods with inspect on every call; the classes are patched above, then fixed.
    if not hasattr(moto_responses.method_names_from_class, "cache_info"):  # once, however many emulators start
        moto_responses.method_names_from_class = functools.lru_cache(maxsize=None)(
            moto_responses.method_names_from_class)
    app = RecordingApp(FaultInjector(Dispatcher(create_backend_app)))
    # One access-log line per call is an eighth of the emulator's CPU, written where nobody reads it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return make_server(host, port, app, threaded=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=5000, help="port (0 picks a free one)")
    parser.add_argument("--port-file", help="write the port actually bound to this file")
    parser.add_argument("--max-page-size", type=int, default=1000,
                        help="most items per ListKeys/ListAliases page, whatever Limit asks (real KMS may return fewer)")
    parser.add_argument("--pid-file", help="write this process's ID to this file")
    args = parser.parse_args()
    server = make_emulator(args.host, args.port, args.max_page_size)
    if args.pid_file:
        with open(args.pid_file, "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
    if args.port_file:
        with open(args.port_file, "w", encoding="utf-8") as handle:
            handle.write(str(server.server_port))
    print(f"KMS emulator on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
