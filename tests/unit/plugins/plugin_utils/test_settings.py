# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation role's inputs: every one checked before any AWS call, each message naming the variable."""

from __future__ import annotations

import os

import pytest

from ansible_collections.keyguard.kms.plugins.plugin_utils import _settings

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def check(tmp_path, environ=None, **variables):
    args = {"rotation_regions": ["us-east-1"], "rotation_report_dir": str(tmp_path / "reports")}
    args.update(variables)
    return _settings.check(args, environ or {}, str(tmp_path), "prod", False)


def test_defaults_are_normalized(tmp_path):
    settings, errors, deprecations = _settings.check({"rotation_regions": ["eu-west-1"]}, {}, str(tmp_path), "prod",
                                                     True)
    assert errors == [] and deprecations == []
    assert settings["regions"] == ["eu-west-1"] and settings["partition"] == "aws"
    assert settings["report_dir"] == str(tmp_path / "keyguard-reports") and os.path.isdir(settings["report_dir"])
    assert settings["journal_file"] == str(tmp_path / "keyguard-reports" / ".prod.rescue-journal")
    assert settings["pending_deletion"] == "cancel" and settings["check_mode"] is True
    assert settings["report_formats"] == ["json", "markdown", "junit"]


@pytest.mark.parametrize(
    "variables, fragment",
    [
        ({"rotation_exempt_keys": "alias/pending-off-0"}, "rotation_exempt_keys must be a list of keys"),
        ({"rotation_exempt_keys": [{"reason": "no key"}]}, "rotation_exempt_keys item 1 must be a key reference or"),
        ({"rotation_exempt_keys": [{"key": "alias/a", "why": "x"}]}, "and no other fields (why)"),
        ({"rotation_exempt_keys": [5]}, "rotation_exempt_keys item 1 must be a key reference"),
        ({"rotation_exempt_keys": ["not a key"]}, "rotation_exempt_keys item 1 is not a key reference"),
        ({"rotation_exempt_tags": ["keyguard:intended-deletion"]}, "rotation_exempt_tags must be a dict"),
        ({"rotation_exempt_tags": 5}, "rotation_exempt_tags must be a dict"),
        ({"rotation_exempt_tags": {"a": {"b": "c"}}}, "rotation_exempt_tags: the value of tag 'a'"),
        ({"rotation_report_dir": ""}, "rotation_report_dir is empty"),
        ({"rotation_journal_file": ""}, "rotation_journal_file: the rescue journal path is empty"),
        ({"rotation_regions": "us-east-1"}, "rotation_regions must be a list of Region names"),
        ({"rotation_regions": ["us-east-1", "cn-north-1"]}, "are in different partitions"),
        ({"rotation_rate_limits": {"DescribeKey": 1e-300}}, "rotation_rate_limits: DescribeKey must be a number"),
        ({"rotation_pending_deletion": "delete"}, "rotation_pending_deletion must be cancel or keep"),
        ({"rotation_period_days": 30}, "rotation_period_days must be a whole number of days from 90 to 2560"),
        ({"rotation_concurrency": 0}, "rotation_concurrency must be a whole number of 1 or more"),
        ({"rotation_assume_role_arn": "arn:aws-cn:iam::111122223333:role/x"}, "is in partition aws-cn but the Regions"),
        ({"rotation_assume_role_arn": "role/x"}, "rotation_assume_role_arn must be an IAM role ARN"),
        ({"rotation_aws_profile": "p", "rotation_aws_access_key": "AKIA"}, "both set"),
        ({"rotation_report_formats": ["pdf"]}, "rotation_report_formats must be a list of json"),
    ],
)
def test_bad_inputs_are_refused_naming_the_variable(tmp_path, variables, fragment):
    _settings_, errors, _deprecations = check(tmp_path, **variables)
    assert any(fragment in error for error in errors), errors


def test_no_region_anywhere(tmp_path, monkeypatch):
    monkeypatch.setattr(_settings, "_profile_region", lambda args: None)
    _s, errors, _d = check(tmp_path, rotation_regions=[])
    assert errors == ["rotation_regions is empty and no Region is set for the connection (AWS_REGION, "
                      "AWS_DEFAULT_REGION or the profile's region): set rotation_regions, for example [eu-west-1]"]
    settings, errors, _d = check(tmp_path, environ={"AWS_REGION": "eu-west-1"}, rotation_regions=[])
    assert errors == [] and settings["regions"] == ["eu-west-1"]


def test_report_folder_that_is_a_file_or_not_writable(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    _s, errors, _d = check(tmp_path, rotation_report_dir=str(afile))
    assert any("is a file, not a folder" in error for error in errors)
    # Below a file nothing can be created, whoever runs the test (root included).
    _s, errors, _d = check(tmp_path, rotation_report_dir=str(afile / "reports"))
    assert any("cannot be created or written" in error for error in errors)


def test_journal_that_is_a_folder(tmp_path):
    _s, errors, _d = check(tmp_path, rotation_journal_file=str(tmp_path))
    assert any("rotation_journal_file: the rescue journal path %s is a folder" % tmp_path in e for e in errors)


def test_exemptions_are_normalized_and_old_spellings_warn(tmp_path):
    settings, errors, deprecations = check(
        tmp_path, rotation_exempt_keys=["alias/a", {"key": KEY, "reason": "CHG-1"}],
        rotation_exempt_tags={"keyguard:intended-deletion": True}, rotation_pending_deletion="report",
        rotation_batch_size=500)
    assert errors == []
    assert settings["exempt_keys"] == [{"key": "alias/a", "reason": "listed in rotation_exempt_keys"},
                                       {"key": KEY, "reason": "CHG-1"}]
    assert settings["exempt_tags"] == {"keyguard:intended-deletion": ["true"]}
    assert settings["pending_deletion"] == "keep"
    assert len(deprecations) == 2 and "rotation_pending_deletion: report is deprecated" in deprecations[0]
