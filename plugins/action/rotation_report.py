# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the rotation role's run report, then write its files on the controller (docs: modules/rotation_report.py)."""

from __future__ import annotations

import datetime
import json
import os
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.keyguard.kms.plugins.plugin_utils._report import build
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import publish
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import renderers
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_json import report_json
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import finding_updates
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import names
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import run_lock


def write_atomically(path, text):
    """Readers see the old file or the new one, never half of one."""
    folder = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def run_label(settings):
    """What kind of run a history entry records: report, check (a remediation in check mode) or remediate."""
    if settings["mode"] == "report":
        return "report"
    return "check" if settings["check_mode"] else "remediate"


def keep_in_history(settings, text):
    """history/<host>/<started>-<kind>.json under the report folder, never overwritten: a second run of the
    same host started in the same second gets its run ID in the name as well."""
    folder = names.inside(settings["report_dir"], "history")
    folder = names.inside(folder, settings["report_name"])
    os.makedirs(folder, exist_ok=True)
    stamp = "%s-%s" % (settings["started"].replace(":", ""), run_label(settings))
    for name in (stamp + ".json", "%s-%s.json" % (stamp, settings["run_id"])):
        path = names.inside(folder, name)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path
    raise FileExistsError("history/%s already holds this run's %s" % (settings["report_name"], stamp))


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
        draft = names.inside(settings["report_dir"], ".%s.draft-%s.json" % (settings["report_name"], settings["run_id"]))
        write_atomically(draft, json.dumps(report))
        return dict(changed=False, draft=draft, summary=report["summary"],
                    finding_updates=finding_updates.finding_updates(report, found, settings, report["run"]["finished"]))

    @staticmethod
    def _write(settings, draft, findings_updated):
        """The report files, with what was done to each finding; the draft is gone after."""
        with open(draft, encoding="utf-8") as handle:
            report = finding_updates.record_finding_outcomes(json.load(handle), findings_updated)
        files = []
        for name in settings["report_formats"]:
            suffix, render = renderers.RENDERERS[name]
            path = names.inside(settings["report_dir"], settings["report_name"] + suffix)
            write_atomically(path, render(report))
            files.append(path)
        history = keep_in_history(settings, report_json(report))
        os.unlink(draft)
        lock = settings.get("lock") or {}
        if lock.get("held"):
            # The run's writes are over: a waiting run of the same target may start.
            run_lock.release(lock["folder"], lock["target"], lock["owner"])
        first = files[0] if files else None
        uploads = publish.report_uploads(settings, files)
        return dict(
            changed=False,
            files=files,
            history=history,
            uploads=uploads,
            summary=report["summary"],
            stats=publish.published_stats(report, files, [upload["uri"] for upload in uploads]),
            failure=build.failure_message(report, settings["fail_on_noncompliant"], first),
        )
