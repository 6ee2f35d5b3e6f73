# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Organization report, once for every host of the play (docs: modules/rotation_organization.py)."""

from __future__ import annotations

import datetime
import json
import os
import secrets

from ansible.plugins.action import ActionBase

from ansible_collections.keyguard.kms.plugins.plugin_utils._report import files
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import organization
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import publish
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_organization import ORGANIZATION_RENDERERS
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import names
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import s3_reads
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import settings as _settings

STATS_KEY = "keyguard_kms_organization"


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def is_host_report(report):
    """A host's run report: not a plan (<host>.plan.json, which has a kind), not anything else."""
    return (isinstance(report, dict) and "kind" not in report and all(
        field in report for field in ("run", "keys", "schema_version", "summary")))


def reports_in_folder(folder):
    """The latest report of each host in ``folder``: its <host>.json files (not the Organization's, not drafts).
    A host's own name is never organization (names.RESERVED), but may begin so (organization-prod)."""
    found = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json") and not name.startswith(".") and name != "organization.json":
            report = read_json(os.path.join(folder, name))
            if is_host_report(report):
                found.append(report)
    return found


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=dict(
            settings=dict(type="dict"),
            hosts=dict(type="list", elements="str"),
            source=dict(type="str"),
            report_dir=dict(type="path"),
            report_s3_uri=dict(type="str"),
            report_s3_region=dict(type="str"),
        ), mutually_exclusive=[["hosts", "source"]], required_one_of=[["hosts", "source"]])
        task_vars = task_vars or {}
        missing = []
        if args["source"] is None:
            settings = args["settings"]
            reports, missing = self._reports_of_the_play(args["hosts"], task_vars)
        else:
            settings, problem = self._summary_settings(args)
            if problem:
                result.update(failed=True, msg=problem)
                return result
            try:
                reports = self._reports_of_source(args["source"], settings, task_vars)
            except (OSError, ValueError) as error:
                result.update(failed=True, msg="rotation_summary_source %s: %s" % (args["source"], error))
                return result
        result.update(self._write(settings, reports, missing))
        return result

    @staticmethod
    def _reports_of_the_play(hosts, task_vars):
        hostvars = task_vars.get("hostvars") or {}
        reports, missing = [], []
        for host in hosts:
            written = (hostvars.get(host) or {}).get("__rotation_report") or {}
            report = read_json(written["history"]) if written.get("history") else None
            if report is None:
                missing.append(host)
            else:
                reports.append(report)
        return reports, missing

    @staticmethod
    def _summary_settings(args):
        """The settings of a summary run: where it writes, and where it publishes."""
        report_dir, problem = _settings.report_folder(args["report_dir"], os.getcwd())
        if problem:
            return None, "rotation_report_dir %s" % problem
        settings = {"report_dir": report_dir, "mode": "summary", "check_mode": False, "run_id": secrets.token_hex(3),
                    "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "report_name": "organization", "report_s3_bucket": None, "report_s3_prefix": "",
                    "report_s3_region": args["report_s3_region"]}
        if args["report_s3_uri"]:
            bucket, prefix, problem = _settings.parse_s3_uri("rotation_report_s3_uri", args["report_s3_uri"])
            if problem:
                return None, problem
            settings.update(report_s3_bucket=bucket, report_s3_prefix=prefix)
        return settings, None

    def _reports_of_source(self, source, settings, task_vars):
        if not source.startswith("s3://"):
            folder = os.path.abspath(os.path.expanduser(source))
            if not os.path.isdir(folder):
                raise ValueError("is neither a folder nor an S3 URI (s3://bucket/prefix)")
            return reports_in_folder(folder)
        bucket, prefix, problem = _settings.parse_s3_uri("rotation_summary_source", source)
        if problem:
            raise ValueError(problem)
        client = s3_reads.client(settings.get("report_s3_region"), s3_reads.variable_reader(self._templar, task_vars))
        try:
            keys = s3_reads.keys_under(client, bucket, prefix)
            reports = []
            for _host, key in sorted(s3_reads.latest_per_host(keys, prefix).items()):
                report = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
                if is_host_report(report):
                    reports.append(report)
            return reports
        except Exception as error:  # pylint: disable=broad-except  # botocore's errors, as words for the user
            raise ValueError("could not be read: %s" % error)

    @staticmethod
    def _write(settings, reports, missing):
        folder = settings["report_dir"]
        previous = read_json(os.path.join(folder, "organization.json"))
        report = organization.build_organization(reports, missing, previous, settings["started"],
                                                 files.run_label(settings))
        written = []
        for _format, (name, render) in sorted(ORGANIZATION_RENDERERS.items()):
            path = names.inside(folder, name)
            files.write_atomically(path, render(report))
            written.append(path)
        history = files.keep_in_history(settings, "organization", ORGANIZATION_RENDERERS["json"][1](report))
        uploads = publish.report_uploads(dict(settings, report_name="organization"), written)
        return dict(changed=False, files=written, history=history, uploads=uploads, summary=report["summary"],
                    stats={STATS_KEY: dict(report["summary"], reports=written, history=history,
                                           report_uris=[upload["uri"] for upload in uploads])})
