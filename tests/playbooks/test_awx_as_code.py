"""examples/awx/configure.yml, checked without a controller: its syntax, and every awx.awx task's arguments
against that module's own argument spec (and, for workflow nodes, the suboptions the module documents)."""

import importlib
import os
import subprocess
import sys

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The tree that holds ansible_collections/ (awx.awx beside this collection), as ansible-playbook finds it.
_AnsibleCollectionFinder(paths=[os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))])._install()
AWX_EXAMPLE = os.path.join(COLLECTION, "examples", "awx")
PLAYBOOK = os.path.join(AWX_EXAMPLE, "configure.yml")


class Captured(Exception):
    def __init__(self, argument_spec):
        super().__init__("argument spec captured")
        self.argument_spec = argument_spec


def module_spec(name):
    """(argument_spec with the controller's connection options, DOCUMENTATION) of awx.awx.<name>."""
    module = importlib.import_module("ansible_collections.awx.awx.plugins.modules.%s" % name)
    from ansible_collections.awx.awx.plugins.module_utils import controller_api  # pylint: disable=import-outside-toplevel

    class Capturing:
        def __init__(self, argument_spec, **_kwargs):
            raise Captured(argument_spec)

    original = module.ControllerAPIModule
    module.ControllerAPIModule = Capturing
    spec = None
    try:
        module.main()
    except Captured as captured:
        spec = dict(captured.argument_spec)
    finally:
        module.ControllerAPIModule = original
    assert spec is not None, "awx.awx.%s made no ControllerAPIModule" % name
    spec.update(controller_api.ControllerModule.AUTH_ARGSPEC)
    return spec, yaml.safe_load(module.DOCUMENTATION)


def doc_to_spec(options):
    """An argument spec from documented options (type, elements, choices, required, suboptions)."""
    spec = {}
    for name, option in (options or {}).items():
        entry = dict((key, option[key]) for key in ("type", "elements", "choices", "required") if key in option)
        if "suboptions" in option:
            entry["options"] = doc_to_spec(option["suboptions"])
        spec[name] = entry
    return spec


def play():
    """The play as ansible-playbook reads it: its text trusted as templates, except what is !unsafe."""
    return DataLoader().load_from_file(PLAYBOOK, trusted_as_template=True)[0]


def rendered(value, variables):
    loader = DataLoader()
    loader.set_basedir(AWX_EXAMPLE)
    return Templar(loader=loader, variables=variables).template(value)


def awx_tasks():
    found = []
    for task in play()["tasks"]:
        modules = [key for key in task if key.startswith("awx.awx.")]
        assert len(modules) == 1, "every task of configure.yml configures one AWX object: %s" % task["name"]
        found.append((task["name"], modules[0].split(".")[-1], task[modules[0]]))
    return found


def test_the_awx_playbooks_pass_syntax_check():
    for playbook in ("configure.yml", "playbooks/kms_report.yml", "playbooks/kms_remediate.yml"):
        completed = subprocess.run(["ansible-playbook", "--syntax-check", "-i", "localhost,",
                                    os.path.join(AWX_EXAMPLE, playbook)], capture_output=True, text=True, check=False)
        assert completed.returncode == 0, (playbook, completed.stdout + completed.stderr)


def test_configure_creates_every_object_the_rollout_needs():
    kinds = [module for _name, module, _args in awx_tasks()]
    for kind in ("execution_environment", "project", "credential", "inventory", "inventory_source",
                 "notification_template", "job_template", "workflow_job_template", "schedule"):
        assert kind in kinds, kind
    workflow = [args for _name, module, args in awx_tasks() if module == "workflow_job_template"][0]
    nodes = dict((node["identifier"], node) for node in workflow["workflow_nodes"])
    # The approval follows the report whatever it finds; the remediation only an approval.
    assert nodes["report"]["related"]["always_nodes"] == [{"identifier": "approval"}]
    assert nodes["approval"]["unified_job_template"]["type"] == "workflow_approval"
    assert nodes["approval"]["related"]["success_nodes"] == [{"identifier": "remediate"}]


@pytest.mark.parametrize("name, module, args", awx_tasks(), ids=[name for name, _module, _args in awx_tasks()])
def test_every_awx_task_matches_its_module_argument_spec(name, module, args):
    spec, documentation = module_spec(module)
    variables = dict(play()["vars"], awx_job_id=1)
    defaults = play()["module_defaults"]["group/awx.awx.controller"]
    arguments = rendered(dict(defaults, **args), variables)
    result = ArgumentSpecValidator(spec).validate(arguments)
    assert not result.error_messages, (name, result.error_messages)
    assert not result.unsupported_parameters, (name, result.unsupported_parameters)
    if module == "workflow_job_template":
        node_spec = doc_to_spec(documentation["options"]["workflow_nodes"]["suboptions"])
        for node in arguments["workflow_nodes"]:
            checked = ArgumentSpecValidator(node_spec).validate(node)
            assert not checked.error_messages and not checked.unsupported_parameters, (
                node["identifier"], checked.error_messages, checked.unsupported_parameters)


def test_the_validator_refuses_an_unknown_or_wrongly_typed_option():
    spec, _documentation = module_spec("job_template")
    assert ArgumentSpecValidator(spec).validate({"name": "x", "forks": "many"}).error_messages
    assert ArgumentSpecValidator(spec).validate({"name": "x", "playbok": "a.yml"}).unsupported_parameters


def test_the_remediation_in_a_workflow_applies_the_plan_its_report_node_wrote():
    def vars_of(playbook):
        return DataLoader().load_from_file(os.path.join(AWX_EXAMPLE, "playbooks", playbook),
                                           trusted_as_template=True)[0]["vars"]

    inputs = {"keyguard_reports_s3_uri": "s3://reports/keyguard/", "awx_workflow_job_id": 42}
    report = rendered(vars_of("kms_report.yml")["rotation_report_s3_uri"], inputs).strip()
    plan = rendered(vars_of("kms_remediate.yml")["rotation_approved_plan"], inputs).strip()
    assert report == plan == "s3://reports/keyguard/workflow-42/"
    outside = rendered(vars_of("kms_remediate.yml")["rotation_approved_plan"], {"keyguard_reports_s3_uri": "s3://r/"})
    assert outside.strip() == ""


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
