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

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import re
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

try:
    import boto3.session
    import botocore
    import botocore.config
    import botocore.loaders
    import botocore.session
    HAS_BOTOCORE = True
except ImportError:
    HAS_BOTOCORE = False  # Handled by AnsibleAWSModule; controller-side callers check syntax only

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info

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
# A whole User-Agent, as amazon.aws sets one: botocore then sends it as it is instead of building one per request.
USER_AGENT = "APN/1.0 Ansible/%s keyguard.kms" % ANSIBLE_VERSION

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

    def __init__(self, operation, code, message):
        super(AwsError, self).__init__(message)
        self.operation = operation
        self.code = code
        self.message = message


def tuning_argument_spec(concurrency):
    """The options every module shares: how hard and how long it pushes AWS (doc fragment kms_tuning)."""
    return dict(
        max_attempts=dict(type="int", default=DEFAULT_MAX_ATTEMPTS),
        concurrency=dict(type="int", default=concurrency),
        rate_limits=dict(type="dict"),
        request_timeout=dict(type="int", default=DEFAULT_REQUEST_TIMEOUT),
        stall_timeout=dict(type="int", default=DEFAULT_STALL_TIMEOUT),
    )


def tuning_errors(params, known_operations):
    """Messages for the tuning options every module shares."""
    errors = rate_limit_errors(params["rate_limits"], known_operations)
    for name in ("concurrency", "max_attempts", "request_timeout", "stall_timeout"):
        if params[name] < 1:
            errors.append("%s must be 1 or more, got %s" % (name, params[name]))
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


def client_config(request_timeout=DEFAULT_REQUEST_TIMEOUT):
    """botocore client config: bounded waits, no retries of its own (AwsService retries)."""
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
        return AwsError(operation, code, message)

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


@lru_cache(maxsize=None)
def _data_loader(data_path):
    return botocore.loaders.create_loader(data_path)


def botocore_session():
    """A new botocore session that shares this process's parsed model and endpoint files.

    Each session otherwise parses them again: about 0.1 s of CPU for every client of a module.
    """
    session = botocore.session.get_session()
    session.register_component("data_loader", _data_loader(session.get_config_variable("data_path")))
    return session


class ClientFactory:
    """boto3 clients of a module, as its connection or, with assume_role_arn, as that role (assumed once).

    The clients are made as amazon.aws's ``module.client()`` makes them (its connection parameters, a
    botocore config merged with ``aws_config``), but from one session per profile rather than one per
    client.
    """

    def __init__(self, module):
        self.module = module
        _region, self._endpoint_url, self._connection = get_aws_connection_info(module)
        self._credentials = None
        self._sessions = {}
        # One lock for the role's credentials and the sessions: botocore sessions are not safe to make
        # clients from on several threads at once, and the role is assumed with a client of its own.
        self._lock = threading.RLock()

    def _new_client(self, service, region, config, credentials=None):
        connection = dict(self._connection, **(credentials or {}))
        profile = connection.pop("profile_name", None)
        merged = botocore.config.Config(user_agent=USER_AGENT, **config)
        user_config = connection.pop("aws_config", None)  # a Config already, or a dict from older amazon.aws
        if user_config:
            merged = merged.merge(user_config if isinstance(user_config, botocore.config.Config)
                                  else botocore.config.Config(**user_config))
        try:
            with self._lock:
                if profile not in self._sessions:
                    self._sessions[profile] = boto3.session.Session(profile_name=profile,
                                                                    botocore_session=botocore_session())
                return self._sessions[profile].client(service, config=merged, region_name=region,
                                                      endpoint_url=self._endpoint_url, **connection)
        except (ValueError, botocore.exceptions.BotoCoreError) as error:
            self.module.fail_json_aws(error, msg="Couldn't connect to AWS")

    def _assumed(self, region):
        params = self.module.params
        with self._lock:
            if self._credentials is None:
                request = {"RoleArn": params["assume_role_arn"], "RoleSessionName": params["assume_role_session_name"]}
                if params.get("assume_role_external_id"):
                    request["ExternalId"] = params["assume_role_external_id"]
                sts = self._new_client("sts", region, client_config())
                try:
                    answer = sts.assume_role(**request)["Credentials"]
                except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
                    code = error.response["Error"]["Code"] if isinstance(error, botocore.exceptions.ClientError) \
                        else type(error).__name__
                    raise AwsError("AssumeRole", code, "could not assume %s: %s (the connection's credentials need "
                                   "sts:AssumeRole on it, and its trust policy must allow them)" % (
                                       params["assume_role_arn"], error))
                self._credentials = {"aws_access_key_id": answer["AccessKeyId"],
                                     "aws_secret_access_key": answer["SecretAccessKey"],
                                     "aws_session_token": answer["SessionToken"], "profile_name": None}
            return self._credentials

    def client(self, service, region, config):
        if not self.module.params.get("assume_role_arn"):
            return self._new_client(service, region, config)
        return self._new_client(service, region, config, self._assumed(region))


def caller_account_lookup(make_sts_client):
    """A callable returning the credentials' account ID, asked of STS once and only when needed.

    None when STS cannot tell (for example an endpoint that only serves KMS): the service then decides.
    """
    cache = {}
    lock = threading.Lock()

    def lookup():
        with lock:
            if "account" not in cache:
                try:
                    cache["account"] = make_sts_client().get_caller_identity()["Account"]
                except Exception:  # pylint: disable=broad-except  # an answer STS cannot give is no answer
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
