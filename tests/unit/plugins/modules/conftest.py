# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process with given arguments, and catch what it would print and exit with."""

from __future__ import annotations

import contextlib
import json

import pytest

from ansible.module_utils import basic


class Exited(Exception):
    def __init__(self, result, failed):
        super(Exited, self).__init__(result.get("msg"))
        self.result = result
        self.failed = failed


@contextlib.contextmanager
def module_args(args):
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19 and later
    except ImportError:
        previous = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = previous
        return
    with patch_module_args(args):
        yield


@pytest.fixture
def run_main(monkeypatch):
    """run_main(module, args) -> (result, failed), with the module's own main()."""

    def exit_json(self, **result):
        raise Exited(result, False)

    def fail_json(self, msg, **result):
        raise Exited(dict(result, msg=msg), True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")

    def run(module, args):
        with module_args(dict(args, _ansible_remote_tmp="/tmp", _ansible_keep_remote_files=False)):
            with pytest.raises(Exited) as exited:
                module.main()
        return exited.value.result, exited.value.failed

    return run
