# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ClientFactory: clients as amazon.aws makes them, from one session and one set of parsed botocore files."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ansible_collections.keyguard.kms.plugins.module_utils._aws import clients
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import ClientFactory
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import client_config


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.params = dict(access_key="AKIDEXAMPLE", secret_key="secret", session_token=None, profile=None,
                           endpoint_url="http://127.0.0.1:9", region=None, validate_certs=True, aws_ca_bundle=None,
                           aws_config=None, assume_role_arn=None)
        self.params.update(params)

    _name = "kms_rotation"

    def fail_json_aws(self, error, msg):
        raise Failed("%s: %s" % (msg, error))

    def fail_json(self, msg, **output):
        self.failed = dict(output, msg=msg)
        raise Failed(msg)

    @staticmethod
    def _gather_versions():
        import boto3
        import botocore

        return {"boto3_version": boto3.__version__, "botocore_version": botocore.__version__}


@pytest.fixture(autouse=True)
def no_sessions_yet(monkeypatch):
    monkeypatch.setattr(clients, "_SESSIONS", {})


def test_clients_share_one_session_and_keep_the_connection_settings():
    factory = ClientFactory(FakeModule(aws_config={"max_pool_connections": 3}))
    east = factory.client("kms", "us-east-1", client_config(request_timeout=7))
    west = factory.client("kms", "us-west-2", client_config())
    sts = factory.client("sts", "us-east-1", client_config())

    assert len(clients._SESSIONS) == 1
    assert east._loader is west._loader is sts._loader
    assert (east.meta.region_name, west.meta.region_name) == ("us-east-1", "us-west-2")
    assert east.meta.endpoint_url == "http://127.0.0.1:9"
    assert east.meta.config.read_timeout == 7 and west.meta.config.read_timeout == 15
    assert east.meta.config.max_pool_connections == 3  # the user's aws_config is merged last
    assert east.meta.config.retries["total_max_attempts"] == 1
    assert east.meta.config.user_agent.startswith("APN/1.0 Ansible/") and "keyguard.kms" in east.meta.config.user_agent
    assert east._request_signer._credentials.access_key == "AKIDEXAMPLE"


def test_a_missing_profile_is_a_connection_error_not_a_traceback():
    factory = ClientFactory(FakeModule(access_key=None, secret_key=None, profile="no-such-profile-here"))
    with pytest.raises(Failed, match="Couldn't connect to AWS.*no-such-profile-here"):
        factory.client("kms", "us-east-1", client_config())


def test_the_user_agent_names_the_collection_version_galaxy_yml_releases():
    root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..")
    if os.path.exists(os.path.join(root, "galaxy.yml")):
        with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as handle:
            version = yaml.safe_load(handle)["version"]
    else:  # installed: galaxy.yml became MANIFEST.json
        with open(os.path.join(root, "MANIFEST.json"), encoding="utf-8") as handle:
            version = json.load(handle)["collection_info"]["version"]
    assert clients.COLLECTION_VERSION == version
    assert clients.USER_AGENT.endswith(" keyguard.kms/%s" % version)


def test_no_region_is_amazon_aws_message_with_the_sdk_versions(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    module = FakeModule()
    with pytest.raises(Failed) as failed:
        ClientFactory(module).client("kms", None, client_config())
    assert "The kms_rotation module requires a region and none was found" in str(failed.value)
    assert module.failed["botocore_version"]


def test_every_session_can_be_recorded_or_replayed_as_amazon_aws_does(monkeypatch):
    attached = []
    monkeypatch.setattr(clients, "enable_placebo", attached.append)
    factory = ClientFactory(FakeModule())
    factory.client("kms", "us-east-1", client_config())
    factory.client("kms", "us-west-2", client_config())
    ClientFactory(FakeModule()).client("kms", "us-east-1", client_config())
    assert len(attached) == 1 and attached[0] is clients._SESSIONS[None], "one session for every factory of a process"


def test_with_a_role_the_caller_account_is_the_one_assume_role_answered_for(monkeypatch):
    calls = []

    class Sts:
        def assume_role(self, **request):
            calls.append(request["RoleArn"])
            return {"AssumedRoleUser": {"Arn": "arn:aws:sts::444455556666:assumed-role/keyguard-kms/keyguard-kms"},
                    "Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": "s", "SessionToken": "t"}}

    factory = ClientFactory(FakeModule(assume_role_arn="arn:aws:iam::444455556666:role/keyguard-kms",
                                       assume_role_session_name="keyguard-kms"))
    monkeypatch.setattr(factory, "_new_client", lambda service, region, config, credentials=None: (
        Sts() if service == "sts" else pytest.fail("no client but STS's for AssumeRole")))
    caller = factory.caller_account("us-east-1")
    assert caller() == "444455556666" and caller() == "444455556666"
    assert calls == ["arn:aws:iam::444455556666:role/keyguard-kms"], "assumed once, no GetCallerIdentity"
