# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one pagination helper of the service layer, for both styles AWS uses, and its errors."""

from __future__ import annotations

import pytest

from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import KmsService
from ansible_collections.keyguard.kms.plugins.module_utils._aws.securityhub import SecurityHubService
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError


class Pages:
    """Answers one call with each page in turn, and records the parameters of each call."""

    def __init__(self, pages):
        self.pages = list(pages)
        self.calls = []

    def __getattr__(self, method):
        def call(**params):
            self.calls.append(params)
            return self.pages.pop(0)
        return call


def test_kms_pages_follow_next_marker_while_truncated_with_each_operations_limit():
    client = Pages([{"Keys": [{"KeyId": "a"}], "Truncated": True, "NextMarker": "m1"},
                    {"Keys": [], "Truncated": True, "NextMarker": "m2"},
                    {"Keys": [{"KeyId": "b"}], "Truncated": False}])
    assert [key["KeyId"] for key in KmsService(client, "us-east-1").list_keys()] == ["a", "b"]
    assert client.calls == [{"Limit": 1000}, {"Limit": 1000, "Marker": "m1"}, {"Limit": 1000, "Marker": "m2"}]
    aliases = Pages([{"Aliases": [], "Truncated": False}])
    KmsService(aliases, "us-east-1").list_aliases()
    assert aliases.calls == [{"Limit": 100}]


def test_a_truncated_page_without_a_marker_is_an_error_not_a_short_list():
    client = Pages([{"Keys": [{"KeyId": "a"}], "Truncated": True}])
    with pytest.raises(AwsError) as failed:
        KmsService(client, "us-east-1").list_keys()
    assert failed.value.code == "IncompletePagination" and "the list would be incomplete" in failed.value.message


def test_next_token_pages_go_on_through_empty_pages():
    client = Pages([{"Findings": [], "NextToken": "t1"}, {"Findings": [{"Id": "f"}], "NextToken": "t2"},
                    {"Findings": []}])
    assert SecurityHubService(client, "us-east-1").get_findings({"RecordState": []}) == [{"Id": "f"}]
    assert [call.get("NextToken") for call in client.calls] == [None, "t1", "t2"]
    assert all(call["MaxResults"] == 100 for call in client.calls)
