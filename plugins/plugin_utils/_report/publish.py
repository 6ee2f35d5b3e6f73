# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Where a run's reports go besides the report folder: S3 keys, and the set_stats key AWX merges.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import os

from ansible_collections.keyguard.kms.plugins.plugin_utils._role import names
STATS_PREFIX = "keyguard_kms_rotation__"


def stats_key(target):
    """The set_stats key of one target: AWX merges the artifacts of sliced jobs and workflow nodes with a
    shallow update, so each target has a top-level key of its own, a valid variable name."""
    return STATS_PREFIX + names.variable_part(target)


def published_stats(report, files=(), uris=()):
    """The set_stats data of one target: its summary, with what the run was and where its reports are."""
    run = report["run"]
    return {stats_key(run["target"]): dict(
        report["summary"], target=run["target"], account_id=run.get("account_id"), mode=run.get("mode"),
        check_mode=run.get("check_mode"), finished=run.get("finished"), reports=list(files), report_uris=list(uris),
        plan_digest=run.get("plan_digest"))}


def report_uploads(settings, files):
    """Where each report file goes in S3: <prefix><host>/<started>-<run id>/<file>, so no run overwrites another's."""
    if not settings.get("report_s3_bucket"):
        return []
    stamp = "%s-%s" % (settings["started"].replace(":", ""), settings["run_id"])
    uploads = []
    for path in files:
        key = "%s%s/%s/%s" % (settings["report_s3_prefix"], settings["report_name"], stamp, os.path.basename(path))
        uploads.append({"src": path, "bucket": settings["report_s3_bucket"], "key": key,
                        "uri": "s3://%s/%s" % (settings["report_s3_bucket"], key)})
    return uploads
