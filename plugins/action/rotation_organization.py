# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Organization report, once for every host of the play (docs: modules/rotation_organization.py)."""

from __future__ import annotations

import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.keyguard.kms.plugins.plugin_utils._report import files
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import organization
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_organization import ORGANIZATION_RENDERERS
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import names

STATS_KEY = "keyguard_kms_organization"


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=dict(
            settings=dict(type="dict", required=True),
            hosts=dict(type="list", elements="str", required=True),
        ))
        settings = args["settings"]
        hostvars = (task_vars or {}).get("hostvars") or {}
        reports, missing = [], []
        for host in args["hosts"]:
            written = (hostvars.get(host) or {}).get("__rotation_report") or {}
            report = read_json(written["history"]) if written.get("history") else None
            if report is None:
                missing.append(host)
            else:
                reports.append(report)
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
        result.update(changed=False, files=written, history=history, summary=report["summary"],
                      stats={STATS_KEY: dict(report["summary"], reports=written, history=history)})
        return result
