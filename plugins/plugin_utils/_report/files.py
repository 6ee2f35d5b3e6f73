# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Report files on the controller: written whole or not at all, and a history that is never overwritten.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import os
import tempfile

from ansible_collections.keyguard.kms.plugins.plugin_utils._role import names


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
    """What kind of run a history entry records: report, check (a remediation in check mode), remediate, or
    summary (an Organization report made from reports that are already there)."""
    if settings["mode"] in ("report", "summary"):
        return settings["mode"]
    return "check" if settings["check_mode"] else "remediate"


def keep_in_history(settings, subject, text):
    """history/<subject>/<started>-<kind>.json under the report folder, never overwritten: a second run started
    in the same second gets its run ID in the name as well. ``subject`` is a host's safe name, or organization."""
    folder = names.inside(names.inside(settings["report_dir"], "history"), subject)
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
    raise FileExistsError("history/%s already holds this run's %s" % (subject, stamp))
