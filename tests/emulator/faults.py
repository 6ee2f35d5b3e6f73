"""Fault injection in front of the KMS emulator, configured per account.

What real KMS does to a client under load or trouble, on demand: per-operation
request quotas answered with ThrottlingException, a fraction of calls throttled
at random, added latency, KMSInternalException (HTTP 500), dropped connections,
AccessDeniedException for chosen keys, operations or Regions (a key policy or an
IAM policy that denies us), a hang on one operation (before it is carried out,
or after: the change is made and the answer never comes), and eventual
consistency after CancelKeyDeletion / EnableKey. ``operations`` limits the
random faults (throttling, errors, drops) to those operations.

Configure with ``POST /_emulator/faults`` and a JSON body naming the ``account``
(its 12-digit access key ID); ``DELETE /_emulator/faults?account=ID`` clears one
account (every account without the parameter);
``GET /_emulator/faults`` returns how many faults of each kind were injected.
"""

import json
import random
import re
import threading
import time

from operations import credential

# Default request quotas, requests per second per account and Region: KMS's, and Security Hub's
# (GetFindings 3/s with bursts of 6, BatchUpdateFindings 10/s with bursts of 30).
QUOTAS = {
    "ListKeys": 500, "ListAliases": 500, "DescribeKey": 2000, "GetKeyRotationStatus": 1000,
    "ListResourceTags": 2000, "ListKeyRotations": 100, "EnableKeyRotation": 15, "DisableKeyRotation": 5, "CancelKeyDeletion": 5,
    "EnableKey": 5, "RotateKeyOnDemand": 5, "GetFindings": 3, "BatchUpdateFindings": 10,
}
BURSTS = {"GetFindings": 6, "BatchUpdateFindings": 30}
FAULTED_SERVICES = ("kms", "securityhub", "organizations", "account")
THROTTLING_CODES = {"securityhub": "TooManyRequestsException", "organizations": "TooManyRequestsException"}

# After the operation on the left succeeds, KMS may still answer the next calls with the old state.
STATE_LAG = {
    "CancelKeyDeletion": (("EnableKey",), "KMSInvalidStateException", "is pending deletion"),
    "EnableKey": (("EnableKeyRotation", "DisableKeyRotation"), "DisabledException", "is disabled"),
}


class TokenBucket:
    def __init__(self, rate, capacity=None):
        self.rate = float(rate)
        self.capacity = float(capacity or rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _key_of(key_id):
    if key_id and ":key/" in key_id:
        return key_id.split(":key/", 1)[1]
    return key_id


class FaultInjector:
    """WSGI middleware between the request recorder and moto."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.configs = {}
        self.buckets = {}
        self.lagging = {}
        self.injected = {}

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/_emulator/faults":
            return self._control(environ, start_response)
        service, operation = environ.get("keyguard.operation") or (None, None)
        _access_key, region, _service = credential(environ)
        account = environ.get("keyguard.account")
        config = self.configs.get(account) if account else None
        # Faults for the JSON services the collection calls; STS and IAM answer in XML.
        if operation is None or config is None or service not in FAULTED_SERVICES:
            return self.app(environ, start_response)
        key_id = _key_of(environ.get("keyguard.key_id"))
        fault = self._fault(config, account, region, service, operation, key_id)
        if fault == "drop":
            self._drop(environ)
            start_response("500 Internal Server Error", [("Content-Length", "1000")])
            return [b""]
        if fault:
            return self._error(start_response, *fault)
        return self._forward(environ, start_response, config, account, region, operation, key_id)

    def _count(self, account, kind):
        counts = self.injected.setdefault(account, {})
        counts[kind] = counts.get(kind, 0) + 1

    def _fault(self, config, account, region, service, operation, key_id):
        rng = config["random"]
        latency = config.get("latency")
        if latency:
            time.sleep(rng.uniform(*latency))
        hang = config.get("hang") or {}
        if hang.get("operation") == operation and not hang.get("after"):
            with self.lock:
                self._count(account, "hang")
            time.sleep(hang.get("seconds", 60))
        with self.lock:
            deny = config.get("deny") or {}
            denied = deny and operation in deny.get("operations", (operation,)) and region in deny.get(
                "regions", (region,)) and (key_id in deny["key_ids"] if "key_ids" in deny else True)
            if denied:
                self._count(account, "AccessDeniedException")
                return 400, "AccessDeniedException", "User is not authorized to perform kms:%s on %s because " \
                    "of an explicit deny" % (operation, key_id or "this account")
            if operation not in config.get("operations", (operation,)):
                return None
            throttling = THROTTLING_CODES.get(service, "ThrottlingException")
            status = 429 if throttling == "TooManyRequestsException" else 400
            quotas = config.get("quotas")
            if quotas:
                rate = (quotas if isinstance(quotas, dict) else QUOTAS).get(operation)
                if rate:
                    bucket = self.buckets.setdefault((account, region, operation),
                                                     TokenBucket(rate, BURSTS.get(operation)))
                    if not bucket.take():
                        self._count(account, "quota")
                        return status, throttling, "Rate exceeded for %s" % operation
            if rng.random() < config.get("throttle_fraction", 0):
                self._count(account, throttling)
                return status, throttling, "Rate exceeded"
            if rng.random() < config.get("error_fraction", 0):
                self._count(account, "KMSInternalException")
                return 500, "KMSInternalException", "An internal error occurred"
            if rng.random() < config.get("drop_fraction", 0):
                self._count(account, "dropped")
                return "drop"
            lag = self.lagging.get((account, region, key_id))
            if lag and operation in lag[0] and time.monotonic() < lag[1]:
                self._count(account, "state_lag")
                return 400, lag[2], "%s %s" % (key_id, lag[3])
        return None

    def _forward(self, environ, start_response, config, account, region, operation, key_id):
        status_holder = []

        def capture(status, headers, exc_info=None):
            status_holder.append(status)
            return start_response(status, headers, exc_info)

        body = self.app(environ, capture)
        hang = config.get("hang") or {}
        if hang.get("operation") == operation and hang.get("after"):
            # The change is made; the answer never comes in time.
            with self.lock:
                self._count(account, "hang")
            time.sleep(hang.get("seconds", 60))
        lag_seconds = config.get("state_lag", 0)
        if lag_seconds and operation in STATE_LAG and status_holder and status_holder[0].startswith("200"):
            blocked, code, text = STATE_LAG[operation]
            with self.lock:
                self.lagging[(account, region, key_id)] = (blocked, time.monotonic() + lag_seconds, code, text)
        return body

    @staticmethod
    def _drop(environ):
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            try:
                connection.shutdown(2)
            except OSError:
                pass

    @staticmethod
    def _error(start_response, status, code, message):
        body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
        reason = {400: "Bad Request", 429: "Too Many Requests"}.get(status, "Internal Server Error")
        start_response("%d %s" % (status, reason), [
            ("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body))),
            ("x-amzn-ErrorType", code)])
        return [body]

    def _control(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        with self.lock:
            if method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                config = json.loads(environ["wsgi.input"].read(length) or b"{}")
                config["random"] = random.Random(config.get("seed", 0))
                self.configs[config.pop("account")] = config
            elif method == "DELETE":
                account = re.search(r"account=(\d+)", environ.get("QUERY_STRING", ""))
                for name in [account.group(1)] if account else list(self.configs):
                    self.configs.pop(name, None)
                    for table in (self.buckets, self.lagging):
                        for entry in [entry for entry in table if entry[0] == name]:
                            del table[entry]
            payload = json.dumps(self.injected).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]
