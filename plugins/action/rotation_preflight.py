# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the rotation role's inputs on the controller before any AWS call (docs: modules/rotation_preflight.py)."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.keyguard.kms.plugins.plugin_utils._role import run_lock
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import settings as _settings

VARIABLES = dict(
    mode=dict(type="str", choices=list(_settings.MODES), default="remediate"),
    awx_job_id=dict(type="raw"),
    rotation_regions=dict(type="raw"),
    rotation_aws_profile=dict(type="str"),
    rotation_aws_access_key=dict(type="str", no_log=False),
    rotation_assume_role_arn=dict(type="str"),
    rotation_pending_deletion=dict(type="raw"),
    rotation_state=dict(type="raw"),
    rotation_period_days=dict(type="raw"),
    rotation_exempt_keys=dict(type="raw"),
    rotation_exempt_tags=dict(type="raw"),
    rotation_include_aws_managed=dict(type="bool"),
    rotation_concurrency=dict(type="raw"),
    rotation_max_attempts=dict(type="raw"),
    rotation_rate_limits=dict(type="raw"),
    rotation_request_timeout=dict(type="raw"),
    rotation_stall_timeout=dict(type="raw"),
    rotation_batch_size=dict(type="raw"),
    rotation_batch_timeout=dict(type="raw"),
    rotation_report_dir=dict(type="raw"),
    rotation_report_formats=dict(type="raw"),
    rotation_lock_dir=dict(type="raw"),
    rotation_lock_timeout=dict(type="raw"),
    aws_account_error=dict(type="raw"),
    rotation_fail_on_noncompliant=dict(type="bool"),
    rotation_scope=dict(type="raw"),
    rotation_securityhub_update=dict(type="bool"),
    rotation_securityhub_suppress_exempt=dict(type="bool"),
    rotation_securityhub_region=dict(type="raw"),
    rotation_report_s3_uri=dict(type="raw"),
    rotation_report_s3_region=dict(type="raw"),
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=VARIABLES)
        # Raw values: the checks below must see a string where a list was meant, not a converted one.
        raw = dict((name, value) for name, value in self._task.args.items() if value is not None)
        # Booleans as Ansible reads them ("false" from a survey is false); everything else as given.
        raw.update((name, args[name]) for name, spec in VARIABLES.items()
                   if spec["type"] in ("bool", "str") and name in raw)
        host = (task_vars or {}).get("inventory_hostname", "target")
        settings, errors, deprecations = _settings.check(raw, os.environ, os.getcwd(), host, self._task.check_mode)
        result.update(changed=False, settings=settings)
        if deprecations:
            result["deprecations"] = [{"msg": text, "version": _settings.DEPRECATION_VERSION,
                                       "collection_name": "keyguard.kms"} for text in deprecations]
        if errors:
            result.update(failed=True, msg="%s: the rotation role's inputs need fixing before any AWS call: %s" % (
                host, "; ".join(errors)))
        elif settings["mode"] == "remediate" and not settings["check_mode"]:
            problem = self._take_lock(settings, host)
            if problem:
                result.update(failed=True, msg=problem)
        return result

    @staticmethod
    def _take_lock(settings, host):
        """Wait for, then hold, this target's lock until the run's ansible-playbook ends; None once held."""
        lock = settings["lock"]
        # Workers are forked from ansible-playbook: the run lives exactly as long as the parent.
        lock["owner"] = run_lock.run_owner(os.getppid(), host=host, started=settings["started"],
                                            awx_job_id=settings.get("awx_job_id"))

        def announce(holder):
            Display().display("%s: another remediation of %s is running on this controller (%s); waiting up to %d s "
                              "before any change" % (host, lock["target"], run_lock.describe(holder), lock["timeout"]))

        try:
            held, holder = run_lock.acquire(lock["folder"], lock["target"], lock["owner"], lock["timeout"], announce)
        except run_lock.LockRefused as refused:
            return "%s: the run lock of %s cannot be taken, so nothing was changed: %s" % (host, lock["target"], refused)
        except OSError as error:
            return "%s: rotation_lock_dir %s cannot hold the run lock (%s): give a folder this user can write" % (
                host, lock["folder"], error.strerror or error)
        if not held:
            return ("%s: another remediation of %s is still running on this controller (%s) after %d s "
                    "(rotation_lock_timeout); nothing was changed: run again when it has finished" % (
                        host, lock["target"], run_lock.describe(holder), lock["timeout"]))
        lock["held"] = True
        return None
