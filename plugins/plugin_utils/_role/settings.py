# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rotation role's inputs, checked and normalized before any AWS call.

meta/argument_specs.yml checks types, but Ansible lets a string pass as a list
and never converts the variables, so every value the role acts on is checked
here, with a message that names the variable and says what to write instead.
The report folder is created and tried for writing now, not after keys were
changed.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import secrets
import tempfile

from ansible_collections.keyguard.kms.plugins.module_utils._rules import material
from ansible_collections.keyguard.kms.plugins.module_utils._rules import plans
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._rules import selection
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import parse_role_arn
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import TUNING_COUNTS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import role_arn_error
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import tuning_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import DEFAULT_RATE_LIMITS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import partition_of
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import profile_region
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import region_errors
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import names

MODES = ("remediate", "report")
PENDING_DELETION_CHOICES = ("cancel", "keep")
REPORT_FORMATS = ("json", "markdown", "junit")
SCOPES = ("all", "findings")
REPORT_FOLDER_NAME = "keyguard-reports"
_S3_URI = re.compile(r"^s3://([^/]*)(/.*)?$")
# General purpose bucket names, as the S3 user guide's naming rules give them.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
DEFAULT_LOCK_TIMEOUT = 300
_EXEMPT_FIELDS = ("key", "reason")


class Inputs:
    """Collects normalized settings and errors while the inputs are checked."""

    def __init__(self):
        self.errors = []
        self.settings = {}

    def error(self, variable, text):
        self.errors.append("%s %s" % (variable, text))


def check(args, environ, cwd, host, check_mode, started=None):
    """(settings, errors) for the role's variables in ``args``.

    ``args`` holds the variables by their role names (rotation_...); optional ones may be absent.
    """
    inputs = Inputs()
    settings = inputs.settings
    settings.update(
        target=host,
        # Host names come from AWS account names: only these derived names reach paths and variables.
        report_name=names.file_name(host),
        mode=_choice(inputs, args, "mode", MODES, "remediate"),
        check_mode=bool(check_mode),
        started=started or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Tells apart two runs of one host started in the same second.
        run_id=secrets.token_hex(3),
        awx_job_id=args.get("awx_job_id"),
    )
    for variable, field in (("aws_account_name", "account_name"), ("aws_account_ou_path", "ou_path")):
        value = args.get(variable)
        if value is not None and not isinstance(value, str):
            inputs.error(variable, "must be text (the account's name or OU path, as the inventory gives it), got %r"
                         % (value,))
            value = None
        settings[field] = value
    account_error = args.get("aws_account_error")
    if account_error:
        inputs.errors.append("the inventory could not read this account (%s): fix that, then run again" % (
            account_error,))
    _regions(inputs, args, environ)
    _securityhub(inputs, args)
    _rotation(inputs, args)
    _exemptions(inputs, args)
    _tuning(inputs, args)
    _credentials(inputs, args)
    _files(inputs, args, cwd)
    _approved_plan(inputs, args)
    _lock(inputs, args)
    settings["fail_on_noncompliant"] = bool(args.get("rotation_fail_on_noncompliant"))
    settings["include_aws_managed"] = bool(args.get("rotation_include_aws_managed"))
    settings["evidence"] = bool(args.get("rotation_evidence", True))
    return settings, inputs.errors


def _choice(inputs, args, name, choices, default):
    value = args.get(name, default)
    if value not in choices:
        inputs.error(name, "must be one of %s, got %r" % (", ".join(choices), value))
    return value


def _regions(inputs, args, environ):
    regions = args.get("rotation_regions")
    if regions is None:
        regions = []
    if isinstance(regions, list) and all(isinstance(region, str) for region in regions):
        regions = list(dict.fromkeys(regions))  # one Region named twice is read once
    if not isinstance(regions, list) or not all(isinstance(region, str) for region in regions):
        inputs.error("rotation_regions", "must be a list of Region names, for example [eu-west-1, us-east-1]; got %r"
                     % (regions,))
        regions = []
    elif not regions:
        fallback = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or _profile_region(args)
        if fallback:
            regions = [fallback]
        else:
            inputs.error("rotation_regions", "is empty and no Region is set for the connection (AWS_REGION, "
                         "AWS_DEFAULT_REGION or the profile's region): set rotation_regions, for example [eu-west-1]")
    else:
        inputs.errors.extend("rotation_regions: " + problem for problem in region_errors(regions))
    inputs.settings["regions"] = regions
    inputs.settings["partition"] = partition_of(regions[0]) if regions else None


def _securityhub(inputs, args):
    settings = inputs.settings
    settings["scope"] = _choice(inputs, args, "rotation_scope", SCOPES, "all")
    settings["securityhub_update"] = bool(args.get("rotation_securityhub_update"))
    settings["securityhub_suppress_exempt"] = bool(args.get("rotation_securityhub_suppress_exempt"))
    region = args.get("rotation_securityhub_region") or None
    if region is not None:
        problems = region_errors([region])
        if not problems and settings.get("partition") and partition_of(region) != settings["partition"]:
            problems = ["'%s' is in partition %s, the Regions in %s" % (
                region, partition_of(region), settings["partition"])]
        inputs.errors.extend("rotation_securityhub_region: " + problem for problem in problems)
    settings["securityhub_region"] = region
    settings["securityhub_regions"] = [region] if region else list(settings.get("regions") or [])


def _profile_region(args):
    return profile_region(args.get("rotation_aws_profile") or None)


def _rotation(inputs, args):
    settings = inputs.settings
    pending = args.get("rotation_pending_deletion", "cancel")
    if pending not in PENDING_DELETION_CHOICES:
        inputs.error("rotation_pending_deletion", "must be cancel or keep, got %r" % (pending,))
    settings["pending_deletion"] = pending
    settings["state"] = _choice(inputs, args, "rotation_state", ("enabled", "disabled"), "enabled")
    period = _digits(args.get("rotation_period_days", rotation.DEFAULT_ROTATION_PERIOD_DAYS))
    problem = rotation.period_error(period)
    if problem:
        inputs.error("rotation_period_days", "must be a whole number of days from %d to %d, got %r" % (
            rotation.MIN_ROTATION_PERIOD_DAYS, rotation.MAX_ROTATION_PERIOD_DAYS, period))
    settings["rotation_period_days"] = period
    limit = _whole_number(args.get("rotation_max_key_material_age_days"))
    reserve = _whole_number(args.get("rotation_on_demand_rotations_reserve", material.DEFAULT_ON_DEMAND_RESERVE))
    if material.limit_errors(limit, None):
        inputs.error("rotation_max_key_material_age_days", "must be a whole number of days above 0, or unset for no "
                     "cryptoperiod, got %r" % (limit,))
    if material.limit_errors(None, reserve):
        inputs.error("rotation_on_demand_rotations_reserve", "must be a whole number from 0 to %d, got %r" % (
            material.ON_DEMAND_ROTATION_LIMIT - 1, reserve))
    settings["max_key_material_age_days"] = limit
    settings["on_demand_rotations_reserve"] = reserve


def _digits(value):
    """-e rotation_period_days=180 arrives as text: digits become the number they spell."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _whole_number(value):
    """As _digits, and an empty value means unset (a survey's empty answer)."""
    if isinstance(value, str) and not value.strip():
        return None
    return _digits(value)


def _exemptions(inputs, args):
    exempt_keys = args.get("rotation_exempt_keys") or []
    normalized = []
    example = "for example [alias/old-export, {key: alias/legacy, reason: 'CHG-1042: decommissioned'}]"
    if not isinstance(exempt_keys, list):
        inputs.error("rotation_exempt_keys", "must be a list of keys, %s; got %r" % (example, exempt_keys))
        exempt_keys = []
    for number, entry in enumerate(exempt_keys, 1):
        where = "rotation_exempt_keys item %d" % number
        if isinstance(entry, dict):
            unknown = sorted(set(entry) - set(_EXEMPT_FIELDS))
            reason = entry.get("reason")
            if unknown or not isinstance(entry.get("key"), str) or (reason is not None and not isinstance(reason, str)):
                inputs.error(where, "must be a key reference or a dict with key (a string) and an optional reason "
                             "(a string)%s, %s; got %r" % (
                                 " and no other fields (%s)" % ", ".join(unknown) if unknown else "", example, entry))
                continue
            reference, reason = entry["key"], reason or "listed in rotation_exempt_keys"
        elif isinstance(entry, str):
            reference, reason = entry, "listed in rotation_exempt_keys"
        else:
            inputs.error(where, "must be a key reference or a dict with key and reason, %s; got %r" % (example, entry))
            continue
        problem = rotation.reference_error(reference)
        if problem:
            inputs.error(where, "is not a key reference: %s" % problem)
            continue
        normalized.append({"key": reference, "reason": reason})
    inputs.settings["exempt_keys"] = normalized
    exempt_tags = args.get("rotation_exempt_tags")
    exempt_tags = {} if exempt_tags is None else exempt_tags
    problem = selection.tag_filter_error(exempt_tags, "rotation_exempt_tags")
    if problem:
        inputs.errors.append(problem)
        exempt_tags = {}
    inputs.settings["exempt_tags"] = selection.normalize_tag_filter(exempt_tags)


def _tuning(inputs, args):
    given = dict((name, args.get("rotation_" + name)) for name in ("rate_limits",) + TUNING_COUNTS)
    inputs.errors.extend(tuning_errors(given, DEFAULT_RATE_LIMITS, prefix="rotation_"))


def _credentials(inputs, args):
    if args.get("rotation_aws_profile") and args.get("rotation_aws_access_key"):
        inputs.errors.append("rotation_aws_profile and rotation_aws_access_key are both set: keep one of them")
    role_arn = args.get("rotation_assume_role_arn") or ""
    problem = role_arn_error(role_arn, inputs.settings.get("partition")) if role_arn else None
    if problem:
        inputs.errors.append("rotation_" + problem)


def _files(inputs, args, cwd):
    settings = inputs.settings
    settings["report_dir"], problem = report_folder(args.get("rotation_report_dir"), cwd)
    if problem:
        inputs.error("rotation_report_dir", problem)
    formats = args.get("rotation_report_formats")
    formats = list(REPORT_FORMATS) if formats is None else formats
    if not isinstance(formats, list) or not set(formats) <= set(REPORT_FORMATS):
        inputs.error("rotation_report_formats", "must be a list of %s, got %r" % (", ".join(REPORT_FORMATS), formats))
        formats = list(REPORT_FORMATS)
    settings["report_formats"] = formats
    settings["interrupted_rescues_file"] = None
    if settings["report_dir"]:
        settings["interrupted_rescues_file"] = names.inside(settings["report_dir"], "%s.interrupted-%s-%s.json" % (
            settings["report_name"], settings["started"].replace(":", ""), settings["run_id"]))
    _report_bucket(inputs, args)


def _approved_plan(inputs, args):
    """Where the plan a person approved is (a file, a folder or an S3 prefix), and how old it may be."""
    settings = inputs.settings
    source = args.get("rotation_approved_plan") or None
    max_age = _whole_number(args.get("rotation_approved_plan_max_age_hours", plans.DEFAULT_MAX_AGE_HOURS))
    if source is not None and not isinstance(source, str):
        inputs.error("rotation_approved_plan", "must be a plan file, a folder of plans or an S3 prefix (s3://...), "
                     "got %r" % (source,))
        source = None
    if source and settings["mode"] != "remediate":
        inputs.error("rotation_approved_plan", "applies to keyguard.kms.remediate only; a report writes plans, it "
                     "does not apply them")
    if source and source.startswith("s3://"):
        problem = parse_s3_uri("rotation_approved_plan", source)[2]
        if problem:
            inputs.error("rotation_approved_plan", problem.split(" ", 1)[1])
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or not 0 < max_age <= plans.MAX_AGE_LIMIT_HOURS:
        inputs.error("rotation_approved_plan_max_age_hours", "must be a number of hours above 0 and at most %d, got %r"
                     % (plans.MAX_AGE_LIMIT_HOURS, max_age))
        max_age = plans.DEFAULT_MAX_AGE_HOURS
    required = args.get("rotation_approved_plan_required", False)
    if not isinstance(required, bool):
        inputs.error("rotation_approved_plan_required", "must be true or false, got %r" % (required,))
    settings["approved_plan"] = source
    settings["approved_plan_max_age_hours"] = max_age
    settings["approved_plan_required"] = required is True


def _lock(inputs, args):
    """Where two remediations of one account from this controller wait for each other."""
    settings = inputs.settings
    folder = args.get("rotation_lock_dir") or os.path.join(tempfile.gettempdir(), "keyguard-kms-%d" % os.getuid())
    timeout = _digits(args.get("rotation_lock_timeout", DEFAULT_LOCK_TIMEOUT))
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
        inputs.error("rotation_lock_timeout", "must be a whole number of seconds, 0 or more, got %r" % (timeout,))
        timeout = 0
    role = parse_role_arn(args.get("rotation_assume_role_arn") or "")
    # Without a role the account is not known before a call: the host and its credentials stand for it.
    target = "account-%s" % role[1] if role else "host-%s-%s" % (settings["report_name"], names.digest("\n".join(
        str(args.get(name) or "") for name in ("rotation_aws_profile", "rotation_aws_access_key"))))
    settings["lock"] = {"folder": os.path.abspath(os.path.expanduser(str(folder))), "target": target,
                        "timeout": timeout}


def parse_s3_uri(variable, uri):
    """(bucket, prefix ending in / or empty, None) of an S3 URI, or (None, None, why it is refused)."""
    match = _S3_URI.match(uri) if isinstance(uri, str) else None
    if not match:
        return None, None, "%s must be an S3 URI, for example s3://security-reports/keyguard; got %r" % (
            variable, uri)
    problem = bucket_name_error(match.group(1))
    if problem:
        return None, None, "%s names bucket %r, which S3 refuses: %s" % (variable, match.group(1), problem)
    prefix = (match.group(2) or "/").strip("/")
    return match.group(1), prefix + "/" if prefix else "", None


def _report_bucket(inputs, args):
    settings = inputs.settings
    uri = args.get("rotation_report_s3_uri") or None
    settings.update(report_s3_bucket=None, report_s3_prefix="", report_s3_region=None)
    if uri is None:
        return
    bucket, prefix, problem = parse_s3_uri("rotation_report_s3_uri", uri)
    if problem:
        inputs.errors.append(problem)
        return
    region = args.get("rotation_report_s3_region") or (settings.get("regions") or [None])[0]
    if region:
        inputs.errors.extend("rotation_report_s3_region: " + problem for problem in region_errors([region]))
    settings.update(report_s3_bucket=bucket, report_s3_prefix=prefix, report_s3_region=region)


def bucket_name_error(name):
    """Why S3 refuses ``name`` as a general purpose bucket name, or None."""
    if not _BUCKET.match(name):
        return ("a bucket name has 3 to 63 characters: lowercase letters, digits, dots and hyphens, beginning and "
                "ending with a letter or digit")
    if ".." in name:
        return "two dots may not stand side by side"
    try:
        ipaddress.IPv4Address(name)
        return "a bucket name may not look like an IP address"
    except ValueError:
        pass
    for prefix in _BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return "the prefix %s is reserved" % prefix
    for suffix in _BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return "the suffix %s is reserved" % suffix
    return None


def report_folder(given, cwd):
    """(absolute path or None, why reports cannot be written there or None) of rotation_report_dir; unset, the
    keyguard-reports folder of ``cwd``. The folder is created and tried for writing."""
    report_dir = os.path.join(cwd, REPORT_FOLDER_NAME) if given is None else given
    problem = folder_error(report_dir)
    return (os.path.abspath(os.path.expanduser(report_dir)) if report_dir else None), problem


def folder_error(path):
    """Why reports cannot be written in ``path``, or None; creates the folder and tries a write."""
    if not isinstance(path, str) or not path.strip():
        return "is empty: give a folder for the reports, or leave it unset for ./%s" % REPORT_FOLDER_NAME
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.exists(path) and not os.path.isdir(path):
        return "%s is a file, not a folder: give a folder for the reports" % path
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".keyguard-write-test-"):
            pass
    except OSError as error:
        return "%s cannot be created or written (%s): give a folder this user can write" % (
            path, error.strerror or error)
    return None
