# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key and tag matching: the one home of both."""

from __future__ import annotations

import pytest

from ansible_collections.keyguard.kms.plugins.module_utils._rules import selection


def test_tag_filters_match_any_value_one_of_several_or_none():
    normalized = selection.normalize_tag_filter({"a": "", "b": ["1", 2], "c": True})
    assert normalized == {"a": [], "b": ["1", "2"], "c": ["true"]}
    assert selection.tags_match_all({"a": "x", "b": "2", "c": "true"}, normalized)
    assert not selection.tags_match_all({"a": "x", "b": "3", "c": "true"}, normalized)
    assert selection.matching_tag({"b": "1"}, normalized) == ("b", "1")
    assert selection.matching_tag({"b": "9"}, normalized) is None


@pytest.mark.parametrize("bad", [["a", "b"], 5, "team=a", {"team": {"nested": "x"}}, {"team": [["x"]]}, {"": "x"}])
def test_malformed_tag_filters_are_refused_with_an_example(bad):
    message = selection.tag_filter_error(bad, "rotation_exempt_tags")
    assert message.startswith("rotation_exempt_tags") and "for example" in message


def test_every_name_of_a_key():
    key = {"key_id": "k1", "key_arn": "arn:aws:kms:us-east-1:111122223333:key/k1", "aliases": ["alias/one"]}
    assert selection.key_names(key) == {"k1", "arn:aws:kms:us-east-1:111122223333:key/k1", "alias/one",
                                        "arn:aws:kms:us-east-1:111122223333:alias/one"}


def test_key_id_of_a_reference():
    targets = {"alias/one": "k1", "arn:aws:kms:us-east-1:111122223333:alias/one": "k1"}
    assert selection.key_id_of("alias/one", targets) == "k1"
    assert selection.key_id_of("arn:aws:kms:us-east-1:111122223333:key/k2", targets) == "k2"
    assert selection.key_id_of("alias/missing", targets) is None
    assert selection.key_id_of("k3", targets) == "k3"
