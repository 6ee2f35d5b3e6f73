# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the rotation role's run report, then write its files on the controller (docs: modules/rotation_report.py)."""

from __future__ import annotations

import datetime
import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.keyguard.kms.plugins.plugin_utils._report import build
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import files
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import publish
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import renderers
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_json import report_json
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import finding_updates
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import approved_plan
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import names
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import run_lock


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=dict(
            settings=dict(type="dict", required=True),
            discovery=dict(type="dict", default={}),
            plan=dict(type="dict", default={}),
            rescued=dict(type="dict", default={}),
            enforced=dict(type="dict", default={}),
            verified=dict(type="dict", default={}),
            findings=dict(type="dict", default={}),
            draft=dict(type="path"),
            findings_updated=dict(type="dict", default={}),
        ))
        settings = args["settings"]
        if args["draft"] is None:
            result.update(self._build(settings, args))
        else:
            result.update(self._write(settings, args["draft"], args["findings_updated"]))
        return result

    @staticmethod
    def _build(settings, args):
        """The report, kept in a draft file beside the reports (a large value in task results costs every host and
        every AWX event), and what to record on each finding, derived from it."""
        report = build.run_report(settings, args["discovery"], args["plan"], args["rescued"], args["enforced"],
                                  args["verified"], finished=datetime.datetime.now(datetime.timezone.utc),
                                  findings=args["findings"])
        found, _error = finding_updates.findings_outcome(args["findings"], settings,
                                                         args["discovery"].get("kms_keys") or [])
        if (settings["mode"] == "report" or settings["check_mode"]) and not settings.get("approved_plan") and \
                args["discovery"].get("kms_keys") is not None:
            # What a person approves, and what keyguard.kms.remediate -e rotation_approved_plan=... then applies.
            path = approved_plan.plan_path(settings)
            document = approved_plan.plan_document(settings, args["discovery"], args["plan"])
            files.write_atomically(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
            # The digest travels in the job's artifacts too, out of reach of whoever can write the plan file.
            report["run"].update(plan_file=os.path.basename(path), plan_digest=document["digest"])
        draft = names.inside(settings["report_dir"], ".%s.draft-%s.json" % (settings["report_name"], settings["run_id"]))
        files.write_atomically(draft, json.dumps(report))
        return dict(changed=False, draft=draft, summary=report["summary"],
                    finding_updates=finding_updates.finding_updates(report, found, settings, report["run"]["finished"]))

    @staticmethod
    def _write(settings, draft, findings_updated):
        """The report files, with what was done to each finding; the draft is gone after."""
        with open(draft, encoding="utf-8") as handle:
            report = finding_updates.record_finding_outcomes(json.load(handle), findings_updated)
        written = []
        for name in settings["report_formats"]:
            suffix, render = renderers.RENDERERS[name]
            path = names.inside(settings["report_dir"], settings["report_name"] + suffix)
            files.write_atomically(path, render(report))
            written.append(path)
        if report["run"].get("plan_file"):
            written.append(names.inside(settings["report_dir"], report["run"]["plan_file"]))
        history = files.keep_in_history(settings, settings["report_name"], report_json(report))
        os.unlink(draft)
        lock = settings.get("lock") or {}
        if lock.get("held"):
            # The run's writes are over: a waiting run of the same target may start.
            run_lock.release(lock["folder"], lock["target"], lock["owner"])
        first = written[0] if written else None
        uploads = publish.report_uploads(settings, written)
        stats = publish.published_stats(report, written, [upload["uri"] for upload in uploads])
        return dict(
            changed=False,
            files=written,
            history=history,
            uploads=uploads,
            summary=report["summary"],
            stats=stats,
            # What set_stats would publish, without a task per host: AWX keeps it as the job's artifacts.
            ansible_stats={"data": stats, "per_host": False, "aggregate": True},
            failure=build.failure_message(report, settings["fail_on_noncompliant"], first),
        )
