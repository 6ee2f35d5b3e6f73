# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private service layer shared by every AWS API the collection calls (KMS, Security Hub, Organizations).

Every call goes through a per-operation rate limiter set to the service's default
request quotas (so a thread pool can work on many items without tripping
throttling), one retry loop with full-jitter exponential backoff on throttling,
internal errors and dropped connections, bounded by a number of attempts, a stall
detector for endpoints that answer nothing, and one error mapper. This loop is the
only retry layer: botocore's own retries are off, because its retry quota stops
retrying after a burst of throttling, and amazon.aws's AWSRetry does not retry
dropped connections; stacking layers would multiply the attempts.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque

try:
    import botocore
    import botocore.exceptions
    HAS_BOTOCORE = True
except ImportError:
    HAS_BOTOCORE = False  # Handled by AnsibleAWSModule; controller-side callers check syntax only


# Slower than this and a run over a few hundred keys would take days: surely a typo.
MIN_RATE_LIMIT = 0.1
DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_REQUEST_TIMEOUT = 15
DEFAULT_STALL_TIMEOUT = 120
RETRIED_ERROR_CODES = (
    "ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException",
    "LimitExceededException", "KMSInternalException", "DependencyTimeoutException", "InternalFailure",
    "InternalException", "ServiceUnavailable", "ServiceException",
)
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 5.0
ENDPOINT_UNRESPONSIVE = "ENDPOINT_UNRESPONSIVE"

COMMON_HINTS = {
    "AccessDeniedException": "grant {action} to the caller in its IAM policy{resource_policy}",
    "AccessDenied": "grant {action} to the caller in its IAM policy",
    "ThrottlingException": "the service kept throttling after max_attempts tries: lower rate_limits or "
    "concurrency, raise max_attempts, or ask AWS to raise the quota",
    "TooManyRequestsException": "the service kept throttling after max_attempts tries: lower rate_limits or "
    "concurrency, or raise max_attempts",
    "UnrecognizedClientException": "the credentials are not valid for this account, or {region} is an opt-in "
    "Region that is not enabled for it: check with aws account get-region-opt-status --region-name {region}, and "
    "enable the Region or drop it from the Regions",
    "InvalidClientTokenId": "the credentials are not valid for this account",
    "ExpiredTokenException": "the session token has expired: refresh the credentials",
    "NoCredentialsError": "no AWS credentials found: set a profile, access keys or a role for the connection",
    "EndpointConnectionError": "check endpoint_url, the Region name and network access",
    "ReadTimeoutError": "the endpoint {endpoint} did not answer within request_timeout: check the endpoint and "
    "network, or raise request_timeout",
    "ConnectTimeoutError": "could not connect to {endpoint} within request_timeout: check endpoint_url, VPC "
    "endpoints and network access",
}


class AwsError(Exception):
    """An AWS call that failed after retries, with an actionable message."""

    def __init__(self, operation, code, message, response=None):
        super(AwsError, self).__init__(message)
        self.operation = operation
        self.code = code
        self.message = message
        # AWS's own answer (error code and message, request ID), for bug reports; never holds credentials.
        self.response = response


def _no_answer(error):
    """A request that got no answer at all: the connection dropped or timed out."""
    return isinstance(error, (botocore.exceptions.ConnectionClosedError, botocore.exceptions.ReadTimeoutError,
                              botocore.exceptions.ConnectTimeoutError))


def _retryable(error):
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code") in RETRIED_ERROR_CODES
    # A refused connection or a bad endpoint is not retried: it will not get better.
    return _no_answer(error)


class RateLimiter:
    """Per-operation request pacing shared by all threads of one client.

    AWS counts requests per second ("1000 DescribeKey requests in a second, and the
    following ones in that second are throttled"), so up to ``rate`` calls may go at
    once, and never more than that in any one-second interval, wherever the service's
    own seconds begin. Rates below 1/s allow one call per 1/rate seconds.
    """

    def __init__(self, defaults, limits=None):
        self._limits = dict(defaults)
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


class AwsService:
    """Calls of one AWS service for one account and Region.

    Subclasses name the service's default request quotas (``RATE_LIMITS``), the IAM
    action prefix and their own error hints. A Region whose endpoint answers nothing
    (every request times out or drops) for ``stall_timeout`` seconds is given up:
    its calls then fail at once with ENDPOINT_UNRESPONSIVE, so a hung endpoint costs
    minutes, not hours.
    """

    CLIENT = None  # the boto3 client's service name
    RATE_LIMITS = {}
    IAM_PREFIX = ""
    HINTS = {}
    SERVICE = "AWS"

    def __init__(self, client, region, rate_limits=None, sleep=time.sleep, max_attempts=DEFAULT_MAX_ATTEMPTS,
                 stall_timeout=DEFAULT_STALL_TIMEOUT, clock=time.monotonic):
        self.client = client
        self.region = region
        self.limiter = RateLimiter(self.RATE_LIMITS, rate_limits)
        self.max_attempts = max_attempts
        self.stall_timeout = stall_timeout
        self.endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None) or (
            "the %s endpoint" % self.SERVICE)
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
                self._stalled = AwsError(
                    operation, ENDPOINT_UNRESPONSIVE,
                    "%s in %s has not answered any request for %d s (stall_timeout)%s: check the endpoint URL, "
                    "VPC endpoint and network access, or raise stall_timeout if the endpoint is only slow"
                    % (self.endpoint, self.region, self.stall_timeout, detail))
            return self._stalled

    def _explain(self, operation, error):
        if isinstance(error, botocore.exceptions.ClientError):
            code = error.response.get("Error", {}).get("Code", "Unknown")
            text = error.response.get("Error", {}).get("Message") or str(error)
        else:
            code, text = type(error).__name__, str(error)
        hint = self.HINTS.get(code) or COMMON_HINTS.get(code)
        message = "%s failed with %s: %s" % (operation, code, text)
        if hint:
            message += " (%s)" % hint.format(
                operation=operation, endpoint=self.endpoint, region=self.region,
                action="%s:%s" % (self.IAM_PREFIX, operation),
                resource_policy=", and in the key policy for operations on a key" if self.IAM_PREFIX == "kms" else "")
        response = error.response if isinstance(error, botocore.exceptions.ClientError) else None
        return AwsError(operation, code, message, response)

    def _pages(self, operation, method, result_key, token_in="NextToken", token_out="NextToken", **params):
        """Every item of every page. A page may be empty before the last: only a missing token ends the list
        (and, for KMS, ``Truncated`` false)."""
        items, token = [], None
        while True:
            page = self._call(operation, method, **dict(params, **({token_in: token} if token else {})))
            items.extend(page.get(result_key, []))
            truncated = page.get("Truncated", True)
            token = page.get(token_out) if truncated else None
            if not token:
                if "Truncated" in page and truncated:
                    # A short list would under-report: an answer that says there is more but not where is an error.
                    raise AwsError(operation, "IncompletePagination", "%s said the list goes on (Truncated) but gave "
                                   "no %s: the list would be incomplete" % (operation, token_out))
                return items

    def _call(self, operation, method, **params):
        for attempt in range(self.max_attempts):
            if self._stalled is not None:
                raise AwsError(operation, ENDPOINT_UNRESPONSIVE, self._stalled.message)
            self.limiter.acquire(operation)
            try:
                answer = getattr(self.client, method)(**params)
                self._answered()
                return answer
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
                if isinstance(error, botocore.exceptions.ClientError):
                    self._answered()
                elif _no_answer(error) and self._stall_error(operation, error) is not None:
                    raise AwsError(operation, ENDPOINT_UNRESPONSIVE, self._stalled.message)
                if not _retryable(error) or attempt == self.max_attempts - 1:
                    raise self._explain(operation, error)
            self._sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
