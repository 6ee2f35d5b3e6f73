# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""boto3 clients for the modules: one session per profile, assumed roles, and the services built on them.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import threading
from functools import lru_cache

try:
    import boto3.session
    import botocore
    import botocore.config
    import botocore.exceptions
    import botocore.loaders
    import botocore.session
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import enable_placebo
from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info

from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import DEFAULT_REQUEST_TIMEOUT
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError

# Kept equal to galaxy.yml's version by a unit test: modules cannot read galaxy.yml where they run.
COLLECTION_VERSION = "1.0.0"
# A whole User-Agent, as amazon.aws sets one: botocore then sends it as it is instead of building one per request.
USER_AGENT = "APN/1.0 Ansible/%s keyguard.kms/%s" % (ANSIBLE_VERSION, COLLECTION_VERSION)


def client_config(request_timeout=DEFAULT_REQUEST_TIMEOUT):
    """botocore client config: bounded waits, no retries of its own (AwsService retries)."""
    return {
        "retries": {"mode": "standard", "total_max_attempts": 1},
        "connect_timeout": request_timeout,
        "read_timeout": request_timeout,
    }


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


# boto3 sessions by profile, for every factory of the process: the role's phases make one factory per account, and
# a session costs about 20 ms of CPU to make. The lock guards them: a botocore session is not safe to make clients
# from on several threads at once.
_SESSIONS = {}
_SESSIONS_LOCK = threading.RLock()


class ClientFactory:
    """boto3 clients of a module, as its connection or, with assume_role_arn, as that role (assumed once).

    The clients are made as amazon.aws's ``module.client()`` makes them (its connection parameters, a
    botocore config merged with ``aws_config``), but from one session per profile and process rather than
    one per client.
    """

    def __init__(self, module):
        self.module = module
        _region, self._endpoint_url, self._connection = get_aws_connection_info(module)
        self._credentials = None
        self._assumed_account = None
        # The role is assumed once per factory, with a client of its own.
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
            with _SESSIONS_LOCK:
                if profile not in _SESSIONS:
                    session = boto3.session.Session(profile_name=profile, botocore_session=botocore_session())
                    enable_placebo(session)  # amazon.aws's recording and replay of AWS calls, for tests
                    _SESSIONS[profile] = session
                return _SESSIONS[profile].client(service, config=merged, region_name=region,
                                                 endpoint_url=self._endpoint_url, **connection)
        except botocore.exceptions.NoRegionError:
            self.module.fail_json(msg="The %s module requires a region and none was found in configuration, "
                                  "environment variables or module parameters" % self.module._name,
                                  **self.module._gather_versions())
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
                    answer = sts.assume_role(**request)
                except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
                    client_error = isinstance(error, botocore.exceptions.ClientError)
                    code = error.response["Error"]["Code"] if client_error else type(error).__name__
                    raise AwsError("AssumeRole", code, "could not assume %s: %s (the connection's credentials need "
                                   "sts:AssumeRole on it, and its trust policy must allow them)" % (
                                       params["assume_role_arn"], error), error.response if client_error else None)
                # The account STS says the role's credentials are of: no GetCallerIdentity needed to know it.
                assumed_arn = (answer.get("AssumedRoleUser") or {}).get("Arn") or ""
                self._assumed_account = assumed_arn.split(":")[4] if assumed_arn.count(":") >= 5 else None
                answer = answer["Credentials"]
                self._credentials = {"aws_access_key_id": answer["AccessKeyId"],
                                     "aws_secret_access_key": answer["SecretAccessKey"],
                                     "aws_session_token": answer["SessionToken"], "profile_name": None}
            return self._credentials

    def service(self, service_class, region):
        """An AwsService of ``service_class`` for ``region``, paced and bounded by the module's tuning options."""
        params = self.module.params
        client = self.client(service_class.CLIENT, region, client_config(params["request_timeout"]))
        return service_class(client, region, params["rate_limits"], max_attempts=params["max_attempts"],
                             stall_timeout=params["stall_timeout"])

    def services_by_region(self, service_class):
        """A callable giving one ``service_class`` per Region, made on first use: a Region's calls share its pacing."""
        made = {}
        lock = threading.Lock()

        def service_for(region):
            with lock:
                if region not in made:
                    made[region] = self.service(service_class, region)
                return made[region]

        return service_for

    def caller_account(self, region):
        """A callable returning the credentials' account ID, asked of STS once, and only when it is called.

        With a role to assume it is the account AssumeRole answered for: one client and one call fewer.
        """
        if self.module.params.get("assume_role_arn"):
            def assumed_account():
                try:
                    self._assumed(region)
                except AwsError:
                    return None  # the first call says why the role cannot be assumed
                return self._assumed_account
            return assumed_account
        return caller_account_lookup(
            lambda: self.client("sts", region, client_config(self.module.params["request_timeout"])))

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


def fail(module, msg, error=None, **output):
    """End the module failed, as amazon.aws's fail_json_aws does: with the SDK versions and, when one AWS error
    ended it, that error's response, so a bug report has both."""
    extra = dict(module._gather_versions())
    if error is not None and getattr(error, "response", None):
        extra.update(camel_dict_to_snake_dict(error.response))  # error, response_metadata: as amazon.aws gives them
    module.fail_json(msg=msg, **dict(output, **extra))
