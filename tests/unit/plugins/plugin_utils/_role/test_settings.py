# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation role's inputs: every one checked before any AWS call, each message naming the variable."""

from __future__ import annotations

import os

import pytest

from ansible_collections.keyguard.kms.plugins.plugin_utils._role import settings as _settings

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def check(tmp_path, environ=None, **variables):
    args = {"rotation_regions": ["us-east-1"], "rotation_report_dir": str(tmp_path / "reports")}
    args.update(variables)
    return _settings.check(args, environ or {}, str(tmp_path), "prod", False)


def test_defaults_are_normalized(tmp_path):
    settings, errors = _settings.check({"rotation_regions": ["eu-west-1"]}, {}, str(tmp_path), "prod", True)
    assert errors == []
    assert settings["regions"] == ["eu-west-1"] and settings["partition"] == "aws"
    assert settings["report_dir"] == str(tmp_path / "keyguard-reports") and os.path.isdir(settings["report_dir"])
    assert settings["report_name"] == "prod" and len(settings["run_id"]) == 6
    assert settings["interrupted_rescues_file"].startswith(str(tmp_path / "keyguard-reports" / "prod.interrupted-"))
    assert settings["lock"]["target"].startswith("host-prod-") and settings["lock"]["timeout"] == 300
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
        ({"rotation_lock_timeout": -1}, "rotation_lock_timeout must be a whole number of seconds"),
        ({"rotation_period_days": "18O"}, "rotation_period_days must be a whole number of days"),
        ({"aws_account_error": "ListRegions failed with AccessDenied"}, "the inventory could not read this account"),
        ({"rotation_report_s3_uri": "s3://a..b/x"}, "two dots may not stand side by side"),
        ({"rotation_report_s3_uri": "s3://192.168.5.4/x"}, "may not look like an IP address"),
        ({"rotation_report_s3_uri": "s3://xn--bucket/x"}, "the prefix xn-- is reserved"),
        ({"rotation_report_s3_uri": "s3://bucket-s3alias"}, "the suffix -s3alias is reserved"),
        ({"rotation_report_s3_uri": "s3://Bucket/x"}, "a bucket name has 3 to 63 characters"),
        ({"rotation_report_s3_uri": "s3:///x"}, "a bucket name has 3 to 63 characters"),
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
        ({"rotation_max_key_material_age_days": 0}, "rotation_max_key_material_age_days must be a whole number of days"),
        ({"rotation_max_key_material_age_days": "a year"}, "rotation_max_key_material_age_days must be a whole"),
        ({"rotation_on_demand_rotations_reserve": 25}, "rotation_on_demand_rotations_reserve must be a whole number from"),
        ({"rotation_approved_plan": 5}, "rotation_approved_plan must be a plan file, a folder of plans or an S3"),
        ({"rotation_approved_plan": "s3://Bucket/x"}, "a bucket name has 3 to 63 characters"),
        ({"rotation_approved_plan": "plans/", "mode": "report"}, "applies to keyguard.kms.remediate only"),
        ({"rotation_approved_plan_max_age_hours": 0}, "rotation_approved_plan_max_age_hours must be a number of hours"),
    ],
)
def test_bad_inputs_are_refused_naming_the_variable(tmp_path, variables, fragment):
    _settings_, errors = check(tmp_path, **variables)
    assert any(fragment in error for error in errors), errors


def test_a_cryptoperiod_and_a_plan_given_as_extra_vars_text(tmp_path):
    settings, errors = check(tmp_path, rotation_max_key_material_age_days="365", rotation_approved_plan="plans/",
                             rotation_approved_plan_max_age_hours="12")
    assert errors == []
    assert (settings["max_key_material_age_days"], settings["on_demand_rotations_reserve"]) == (365, 3)
    assert (settings["approved_plan"], settings["approved_plan_max_age_hours"]) == ("plans/", 12)


def test_no_region_anywhere(tmp_path, monkeypatch):
    monkeypatch.setattr(_settings, "_profile_region", lambda args: None)
    _s, errors = check(tmp_path, rotation_regions=[])
    assert errors == ["rotation_regions is empty and no Region is set for the connection (AWS_REGION, "
                      "AWS_DEFAULT_REGION or the profile's region): set rotation_regions, for example [eu-west-1]"]
    settings, errors = check(tmp_path, environ={"AWS_REGION": "eu-west-1"}, rotation_regions=[])
    assert errors == [] and settings["regions"] == ["eu-west-1"]


def test_report_folder_that_is_a_file_or_not_writable(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    _s, errors = check(tmp_path, rotation_report_dir=str(afile))
    assert any("is a file, not a folder" in error for error in errors)
    # Below a file nothing can be created, whoever runs the test (root included).
    _s, errors = check(tmp_path, rotation_report_dir=str(afile / "reports"))
    assert any("cannot be created or written" in error for error in errors)


def test_extra_vars_text_and_duplicate_regions(tmp_path):
    """-e rotation_period_days=180 arrives as a string of digits; a Region named twice is read once."""
    settings, errors = check(tmp_path, rotation_period_days="180", rotation_lock_timeout="30",
                             rotation_regions=["us-east-1", "us-west-2", "us-east-1"])
    assert errors == []
    assert settings["rotation_period_days"] == 180 and settings["lock"]["timeout"] == 30
    assert settings["regions"] == ["us-east-1", "us-west-2"]


def test_the_lock_is_per_account_when_a_role_names_it(tmp_path):
    settings, errors = check(tmp_path, rotation_assume_role_arn="arn:aws:iam::111122223333:role/keyguard")
    assert errors == [] and settings["lock"]["target"] == "account-111122223333"


@pytest.mark.parametrize("host", ["../../../escaped", "team/pay", "prød-1", "acct one", ".."])
def test_hostile_host_names_never_leave_the_report_folder(tmp_path, host):
    settings, errors = _settings.check({"rotation_regions": ["us-east-1"], "rotation_report_dir": str(
        tmp_path / "reports")}, {}, str(tmp_path), host, False)
    assert errors == []
    assert os.path.dirname(settings["interrupted_rescues_file"]) == str(tmp_path / "reports")
    assert "/" not in settings["report_name"] and settings["report_name"] not in (".", "..")


def test_good_bucket_names_pass(tmp_path):
    for uri in ("s3://security-reports/keyguard", "s3://my.bucket.example/a/b", "s3://abc"):
        settings, errors = check(tmp_path, rotation_report_s3_uri=uri)
        assert errors == [], uri


def test_exemptions_are_normalized(tmp_path):
    settings, errors = check(
        tmp_path, rotation_exempt_keys=["alias/a", {"key": KEY, "reason": "CHG-1"}],
        rotation_exempt_tags={"keyguard:intended-deletion": True}, rotation_pending_deletion="keep")
    assert errors == []
    assert settings["exempt_keys"] == [{"key": "alias/a", "reason": "listed in rotation_exempt_keys"},
                                       {"key": KEY, "reason": "CHG-1"}]
    assert settings["exempt_tags"] == {"keyguard:intended-deletion": ["true"]}
    assert settings["pending_deletion"] == "keep"
    assert check(tmp_path, rotation_pending_deletion="report")[1] == [
        "rotation_pending_deletion must be cancel or keep, got 'report'"]


def test_two_runs_of_one_host_in_the_same_second_publish_to_distinct_folders(tmp_path):
    from ansible_collections.keyguard.kms.plugins.plugin_utils._report import publish

    runs = [_settings.check({"rotation_regions": ["us-east-1"], "rotation_report_dir": str(tmp_path),
                             "rotation_report_s3_uri": "s3://security-reports/keyguard"}, {}, str(tmp_path), "prod",
                            False, started="2026-12-01T10:00:00Z")[0] for _run in range(2)]
    keys = [publish.report_uploads(settings, [str(tmp_path / "prod.json")])[0]["key"] for settings in runs]
    assert keys[0] != keys[1] and all(key.startswith("keyguard/prod/2026-12-01T100000Z-") for key in keys)
