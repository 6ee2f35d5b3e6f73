# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ClientFactory: clients as amazon.aws makes them, from one session and one set of parsed botocore files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

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

    def fail_json_aws(self, error, msg):
        raise Failed("%s: %s" % (msg, error))


def test_clients_share_one_session_and_keep_the_connection_settings():
    factory = ClientFactory(FakeModule(aws_config={"max_pool_connections": 3}))
    east = factory.client("kms", "us-east-1", client_config(request_timeout=7))
    west = factory.client("kms", "us-west-2", client_config())
    sts = factory.client("sts", "us-east-1", client_config())

    assert len(factory._sessions) == 1
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
