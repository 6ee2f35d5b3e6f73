# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Plan files: the one a report writes beside its report, and the one a remediation applies once approved.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import datetime
import json
import os

from ansible_collections.keyguard.kms.plugins.module_utils._rules import plans
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import names
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import s3_reads
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import settings as _settings

PLAN_SUFFIX = ".plan.json"


def plan_document(settings, discovery, phases):
    """The plan of a report run: each key KMS.3 or KMS.4 would change, its steps and the state they rest on."""
    records = dict((key["key_arn"], key) for key in discovery.get("kms_keys") or [])
    keys = []
    for phase, arns in (("KMS.3", phases.get("rescue") or []), ("KMS.4", phases.get("enforce") or [])):
        for arn in arns:
            record = records.get(arn)
            if record is None or not record.get("remediation_steps"):
                continue
            keys.append({"key_arn": arn, "key_id": record["key_id"], "region": record["region"], "phase": phase,
                         "reason": record["reason"], "steps": record["remediation_steps"],
                         "planned_from": record["plan_state"]})
    accounts = sorted(set(key.get("account_id") for key in discovery.get("kms_keys") or [] if key.get("account_id")))
    return plans.sealed({
        "kind": plans.PLAN_KIND,
        "schema_version": plans.PLAN_SCHEMA_VERSION,
        "run": {"target": settings["target"], "account_id": accounts[0] if len(accounts) == 1 else None,
                "started": settings["started"], "run_id": settings["run_id"], "awx_job_id": settings.get("awx_job_id"),
                "regions": settings.get("regions"), "report": settings["report_name"] + ".json"},
        "settings": dict((name, settings.get(name)) for name in plans.PLANNED_SETTINGS),
        "keys": keys,
    })


def plan_path(settings):
    return names.inside(settings["report_dir"], settings["report_name"] + PLAN_SUFFIX)


def _read_file(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as error:
        raise ValueError("%s cannot be read: %s" % (path, error.strerror or error))
    except ValueError as error:
        raise ValueError("%s is not JSON: %s" % (path, error))


def locate(source, report_name, s3_client):
    """(the plan document, where it was found) of host ``report_name`` in ``source``; ValueError when none.

    ``source``: a plan file, a folder of plans, or an S3 prefix - its <name>.plan.json, else the latest
    <prefix><name>/<started>-<run id>/<name>.plan.json. ``s3_client()`` is asked only for an S3 source.
    """
    wanted = report_name + PLAN_SUFFIX
    if not source.startswith("s3://"):
        path = os.path.abspath(os.path.expanduser(source))
        if os.path.isdir(path):
            path = os.path.join(path, wanted)
            if not os.path.isfile(path):
                raise ValueError("%s has no plan of this host (%s)" % (source, wanted))
        return _read_file(path), path
    exact = source.endswith(PLAN_SUFFIX)
    bucket, prefix, problem = _settings.parse_s3_uri("rotation_approved_plan", source.rsplit("/", 1)[0] + "/"
                                                     if exact else source)
    if problem:
        raise ValueError(problem)
    try:
        client = s3_client()
        if exact:
            # One object named: that one, whatever else is under its prefix.
            key = prefix + source.rsplit("/", 1)[1]
        else:
            keys = s3_reads.keys_under(client, bucket, prefix)
            key = prefix + wanted if prefix + wanted in keys else s3_reads.latest_per_host(
                keys, prefix, PLAN_SUFFIX).get(report_name)
        if key is None:
            raise ValueError("s3://%s/%s holds no plan of this host (%s)" % (bucket, prefix, wanted))
        where = "s3://%s/%s" % (bucket, key)
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ValueError:
        raise
    except Exception as error:  # pylint: disable=broad-except  # botocore's errors, as words for the user
        raise ValueError("s3://%s/%s could not be read: %s" % (bucket, prefix, error))
    try:
        return json.loads(body), where
    except ValueError as error:
        raise ValueError("%s is not JSON: %s" % (where, error))


def load(settings, account_id, s3_client, now=None, approved_digest=None):
    """(plan, where, errors) of the approved plan ``settings`` names; errors say why it may not be applied.
    ``approved_digest``: the digest the report run published in its artifacts, when this run has them."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        plan, where = locate(settings["approved_plan"], settings["report_name"], s3_client)
    except ValueError as error:
        return None, None, ["rotation_approved_plan: %s" % error]
    errors = ["rotation_approved_plan %s %s" % (where, problem) for problem in plans.plan_errors(
        plan, settings["target"], settings, now, settings["approved_plan_max_age_hours"], account_id, approved_digest)]
    return (plan if not errors else None), where, errors
