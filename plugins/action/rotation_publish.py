# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publish every host's report files to S3 at once (docs: modules/rotation_publish.py)."""

from __future__ import annotations

import mimetypes
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible.plugins.action import ActionBase

from ansible_collections.keyguard.kms.plugins.plugin_utils._role import accounts
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import s3_reads


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    BYPASS_HOST_LOOP = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=dict(task=dict(type="str", required=True)))
        work, by_host = [], {}
        for host, _templar, task in accounts.hosts_of_this_run(self, task_vars, by_host, args["task"]):
            by_host[host] = {"uploads": [dict(upload, failed=False, msg=None) for upload in task.get("uploads") or []]}
            work.extend((host, upload, task) for upload in by_host[host]["uploads"])
        clients, lock = {}, threading.Lock()

        def client_for(task):
            connection = task.get("connection") or {}
            key = (task.get("region"),) + tuple(sorted(connection.items()))
            with lock:  # botocore sessions are not safe to make clients from on several threads at once
                if key not in clients:
                    clients[key] = s3_reads.client(task.get("region"), lambda name: connection.get(name) or None)
                return clients[key]

        def put(job):
            _host, upload, task = job
            content_type = mimetypes.guess_type(upload["src"])[0] or "application/octet-stream"
            try:
                with open(upload["src"], "rb") as body:
                    client_for(task).put_object(Bucket=upload["bucket"], Key=upload["key"], Body=body,
                                                ContentType=content_type)
            except Exception as error:  # pylint: disable=broad-except  # botocore's, the file's: each upload says why
                upload.update(failed=True, msg=str(error))

        if work:
            with ThreadPoolExecutor(max_workers=min(len(work), accounts.accounts_at_once())) as pool:
                list(pool.map(put, work))
        for outcome in by_host.values():
            uploads = outcome.setdefault("uploads", [])
            outcome["changed"] = any(not upload["failed"] for upload in uploads)
            outcome.setdefault("failed", any(upload["failed"] for upload in uploads))
        result.update(changed=any(outcome["changed"] for outcome in by_host.values()), hosts=by_host,
                      msg="%d report files of %d hosts published, %d failed" % (
                          sum(1 for _h, upload, _t in work if not upload["failed"]), len(by_host),
                          sum(1 for _h, upload, _t in work if upload["failed"])))
        return result
