# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private service layer: the only place that calls KMS.

Every call goes through a per-operation rate limiter set to KMS's default
request quotas (so a thread pool can work on many keys without tripping
throttling), one retry loop with full-jitter exponential backoff on throttling,
KMS internal errors and dropped connections, bounded by a number of attempts,
and one error mapper. This loop is the only retry layer: botocore's own retries
are off, because its retry quota stops retrying after a burst of throttling,
and amazon.aws's AWSRetry does not retry dropped connections; stacking layers
would multiply the attempts.

This is a private module: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

# KMS default request quotas per account and Region (requests per second).
# Adjustable by AWS per account, hence overridable through the modules' rate_limits.
DEFAULT_RATE_LIMITS = {
    "ListKeys": 500.0,
    "ListAliases": 500.0,
    "ListResourceTags": 2000.0,
    "DescribeKey": 2000.0,
    "GetKeyRotationStatus": 1000.0,
    "EnableKeyRotation": 15.0,
    "DisableKeyRotation": 5.0,
    "CancelKeyDeletion": 5.0,
    "EnableKey": 5.0,
}
# Slower than this and a run over a few hundred keys would take days: surely a typo.
MIN_RATE_LIMIT = 0.1

# The largest Limit each list operation accepts (KMS API reference). botocore's shared shape
# allows 1000 for all of them, so botocore does not catch a page size that KMS refuses.
PAGE_SIZES = {"ListKeys": 1000, "ListAliases": 100, "ListResourceTags": 50}

DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_REQUEST_TIMEOUT = 15
DEFAULT_STALL_TIMEOUT = 120
RETRIED_ERROR_CODES = (
    "ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException",
    "KMSInternalException", "DependencyTimeoutException", "InternalFailure", "ServiceUnavailable",
)
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 5.0
ENDPOINT_UNRESPONSIVE = "ENDPOINT_UNRESPONSIVE"

# Right after CancelKeyDeletion / EnableKey, KMS can still answer with the old state.
STATE_LAG_ERROR_CODES = ("KMSInvalidStateException", "DisabledException")


def tuning_argument_spec(concurrency):
    """The options both modules share: how hard and how long they push KMS (doc fragment kms_tuning)."""
    return dict(
        max_attempts=dict(type="int", default=DEFAULT_MAX_ATTEMPTS),
        concurrency=dict(type="int", default=concurrency),
        rate_limits=dict(type="dict"),
        request_timeout=dict(type="int", default=DEFAULT_REQUEST_TIMEOUT),
        stall_timeout=dict(type="int", default=DEFAULT_STALL_TIMEOUT),
    )


def tuning_errors(params):
    """Messages for the tuning options both modules share."""
    errors = rate_limit_errors(params["rate_limits"])
    for name in ("concurrency", "max_attempts", "request_timeout", "stall_timeout"):
        if params[name] < 1:
            errors.append("%s must be 1 or more, got %s" % (name, params[name]))
    return errors


def rate_limit_errors(rate_limits):
    """Messages for rate_limits entries that name no known operation or no sane rate."""
    if rate_limits is not None and not isinstance(rate_limits, dict):
        return ["rate_limits must be a dict of operation name to requests per second, for example {EnableKeyRotation: 50}"]
    errors = []
    for operation, rate in (rate_limits or {}).items():
        if operation not in DEFAULT_RATE_LIMITS:
            errors.append(
                "rate_limits: unknown operation '%s'; use one of %s"
                % (operation, ", ".join(sorted(DEFAULT_RATE_LIMITS)))
            )
        elif isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate >= MIN_RATE_LIMIT:
            errors.append(
                "rate_limits: %s must be a number of requests per second of at least %s, got %r"
                % (operation, MIN_RATE_LIMIT, rate)
            )
    return errors


def client_config(request_timeout=DEFAULT_REQUEST_TIMEOUT):
    """botocore client config: bounded waits, no retries of its own (KmsService retries)."""
    return {
        "retries": {"mode": "standard", "total_max_attempts": 1},
        "connect_timeout": request_timeout,
        "read_timeout": request_timeout,
    }


def _no_answer(error):
    """A request that got no answer at all: the connection dropped or timed out."""
    return isinstance(error, (botocore.exceptions.ConnectionClosedError, botocore.exceptions.ReadTimeoutError,
                              botocore.exceptions.ConnectTimeoutError))


def _retryable(error):
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code") in RETRIED_ERROR_CODES
    # A refused connection or a bad endpoint is not retried: it will not get better.
    return _no_answer(error)


class KmsError(Exception):
    """A KMS call that failed after retries, with an actionable message."""

    def __init__(self, operation, code, message):
        super(KmsError, self).__init__(message)
        self.operation = operation
        self.code = code
        self.message = message


_HINTS = {
    "NotFoundException": "check the key ID, ARN or alias and the region option",
    "AccessDeniedException": "grant kms:{operation} to the caller in its IAM policy, and in the key policy for "
    "operations on a key",
    "ThrottlingException": "KMS kept throttling after max_attempts tries: lower rate_limits or concurrency, "
    "raise max_attempts, or ask AWS to raise the quota",
    "KMSInvalidStateException": "the key is not in a state that allows {operation}",
    "DisabledException": "the key is disabled",
    "UnsupportedOperationException": "this key does not support {operation}",
    "ValidationException": "check the values given",
    "UnrecognizedClientException": "the credentials are not valid for this account",
    "InvalidClientTokenId": "the credentials are not valid for this account",
    "ExpiredTokenException": "the session token has expired: refresh the credentials",
    "NoCredentialsError": "no AWS credentials found: set a profile, access keys or a role for the connection",
    "EndpointConnectionError": "check endpoint_url, the Region name and network access",
    "ReadTimeoutError": "the endpoint {endpoint} did not answer within request_timeout: check the endpoint and "
    "network, or raise request_timeout",
    "ConnectTimeoutError": "could not connect to {endpoint} within request_timeout: check endpoint_url, VPC "
    "endpoints and network access",
}


def _explain(operation, error, endpoint):
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        text = error.response.get("Error", {}).get("Message") or str(error)
    else:
        code, text = type(error).__name__, str(error)
    hint = _HINTS.get(code)
    message = "%s failed with %s: %s" % (operation, code, text)
    if hint:
        message += " (%s)" % hint.format(operation=operation, endpoint=endpoint)
    return KmsError(operation, code, message)


class RateLimiter:
    """Per-operation request pacing shared by all threads of one client.

    KMS counts requests per second ("1000 DescribeKey requests in a second, and the
    following ones in that second are throttled"), so up to ``rate`` calls may go at
    once, and never more than that in any one-second interval, wherever KMS's own
    seconds begin. Rates below 1/s allow one call per 1/rate seconds.
    """

    def __init__(self, limits):
        self._limits = dict(DEFAULT_RATE_LIMITS)
        self._limits.update(limits or {})
        self._sent = {}
        self._lock = threading.Lock()

    def acquire(self, operation):
        rate = self._limits.get(operation)
        if not rate:
            return
        allowed = max(1, int(rate))
        window = allowed / float(rate)
        with self._lock:
            now = time.monotonic()
            sent = self._sent.setdefault(operation, deque())
            slot = now if len(sent) < allowed else max(now, sent[0] + window)
            if len(sent) >= allowed:
                sent.popleft()
            sent.append(slot)
        if slot > now:
            time.sleep(slot - now)


class KmsService:
    """KMS calls for one account and Region.

    A Region whose endpoint answers nothing (every request times out or drops) for
    ``stall_timeout`` seconds is given up: its calls then fail at once with
    ENDPOINT_UNRESPONSIVE, so a hung endpoint costs minutes, not hours.
    """

    def __init__(self, client, region, rate_limits=None, sleep=time.sleep, max_attempts=DEFAULT_MAX_ATTEMPTS,
                 stall_timeout=DEFAULT_STALL_TIMEOUT, clock=time.monotonic):
        self.client = client
        self.region = region
        self.limiter = RateLimiter(rate_limits)
        self.max_attempts = max_attempts
        self.stall_timeout = stall_timeout
        self.endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None) or "the KMS endpoint"
        self._sleep = sleep
        self._clock = clock
        self._last_answer = clock()
        self._stalled = None
        self._lock = threading.Lock()

    def _answered(self):
        with self._lock:
            self._last_answer = self._clock()

    def _stall_error(self, operation, error=None):
        with self._lock:
            if self._stalled is None and self._clock() - self._last_answer >= self.stall_timeout:
                detail = " (the last try of %s: %s)" % (operation, error) if error is not None else ""
                self._stalled = KmsError(
                    operation, ENDPOINT_UNRESPONSIVE,
                    "%s in %s has not answered any request for %d s (stall_timeout)%s: check the endpoint URL, "
                    "VPC endpoint and network access, or raise stall_timeout if the endpoint is only slow"
                    % (self.endpoint, self.region, self.stall_timeout, detail))
            return self._stalled

    def _call(self, operation, method, **params):
        for attempt in range(self.max_attempts):
            if self._stalled is not None:
                raise KmsError(operation, ENDPOINT_UNRESPONSIVE, self._stalled.message)
            self.limiter.acquire(operation)
            try:
                answer = getattr(self.client, method)(**params)
                self._answered()
                return answer
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
                if isinstance(error, botocore.exceptions.ClientError):
                    self._answered()
                elif _no_answer(error) and self._stall_error(operation, error) is not None:
                    raise KmsError(operation, ENDPOINT_UNRESPONSIVE, self._stalled.message)
                if not _retryable(error) or attempt == self.max_attempts - 1:
                    raise _explain(operation, error, self.endpoint)
            self._sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))

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
            except KmsError as error:
                if error.code not in STATE_LAG_ERROR_CODES or attempt == attempts - 1:
                    raise
                self._sleep(min(5.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0))

    def _paginate(self, operation, method, result_key, **params):
        items = []
        marker = None
        while True:
            page_params = dict(params, Limit=PAGE_SIZES[operation])
            if marker:
                page_params["Marker"] = marker
            page = self._call(operation, method, **page_params)
            items.extend(page.get(result_key, []))
            if not page.get("Truncated"):
                return items
            marker = page["NextMarker"]

    def list_keys(self):
        return self._paginate("ListKeys", "list_keys", "Keys")

    def list_aliases(self):
        return self._paginate("ListAliases", "list_aliases", "Aliases")

    def list_tags(self, key_id):
        tags = self._paginate("ListResourceTags", "list_resource_tags", "Tags", KeyId=key_id)
        return dict((tag["TagKey"], tag["TagValue"]) for tag in tags)


def caller_account_lookup(make_sts_client):
    """A callable returning the credentials' account ID, asked of STS once and only when needed.

    None when STS cannot tell (for example an endpoint that only serves KMS): KMS then decides.
    """
    cache = {}
    lock = threading.Lock()

    def lookup():
        with lock:
            if "account" not in cache:
                try:
                    cache["account"] = make_sts_client().get_caller_identity()["Account"]
                except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
                    cache["account"] = None
            return cache["account"]

    return lookup


def map_concurrently(function, items, concurrency):
    """``function`` over ``items`` on a thread pool, results in input order."""
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(function, items))
