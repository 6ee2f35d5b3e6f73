"""What users install: the built collection, its execution environment metadata, the AWX example project."""

import json
import os
import subprocess
import sys
import tarfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
NOT_SHIPPED = ("tests/harness/", "tests/playbooks/", "extensions/molecule/", "tests/emulator/", "benchmarks/", ".ci/", ".gitignore",
               ".ansible-lint", "Makefile")


def run(*command, cwd=COLLECTION, env=None):
    completed = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
                               env=env)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    return completed.stdout


def galaxy_version():
    with open(os.path.join(COLLECTION, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["version"]


def test_the_execution_environment_and_the_awx_project_install_the_released_version():
    with open(os.path.join(COLLECTION, "examples", "awx", "collections", "requirements.yml"), encoding="utf-8") as handle:
        wanted = dict((entry["name"], entry["version"]) for entry in yaml.safe_load(handle)["collections"])
    assert wanted["keyguard.kms"] == galaxy_version()


def test_the_built_collection_carries_only_what_runs_once_installed(tmp_path):
    run(os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path))
    tarball = [path for path in tmp_path.iterdir() if path.name.endswith(".tar.gz")][0]
    with tarfile.open(tarball) as archive:
        members = archive.getnames()
    assert not [name for name in members if name.startswith(NOT_SHIPPED) or name in NOT_SHIPPED]
    # Only what a user of the collection runs or reads, nothing a test run leaves behind.
    assert set(name.split("/")[0] for name in members) <= {
        "MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.md", "requirements.txt", "bindep.txt",
        "changelogs", "deploy", "docs", "examples", "extensions", "meta", "playbooks", "plugins", "policies", "roles",
        "tests"}
    assert not [name for name in members if "__pycache__" in name or ".pytest_cache" in name]
    for wanted in ("meta/execution-environment.yml", "requirements.txt", "bindep.txt", "plugins/inventory/aws_accounts.py",
                   "roles/rotation/tasks/main.yml", "playbooks/report.yml", "policies/keyguard-kms-remediate.json",
                   "deploy/cloudformation/member-role-stackset.yaml", "examples/awx/configure.yml"):
        assert wanted in members, wanted


def test_the_shipped_tests_pass_where_the_collection_is_installed(tmp_path):
    run(os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path))
    tarball = [path for path in tmp_path.iterdir() if path.name.endswith(".tar.gz")][0]
    installed = tmp_path / "installed"
    # amazon.aws as the user has it from Galaxy; here the one of the tree the tests run in, already installed where
    # the collection goes, so that the install resolves galaxy.yml's dependency on it offline.
    tree = os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0]
    (installed / "ansible_collections").mkdir(parents=True)
    os.symlink(os.path.join(tree, "ansible_collections", "amazon"), str(installed / "ansible_collections" / "amazon"))
    # Only that folder: the collection the tests run from must not count as installed already.
    output = run(os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", str(installed),
                 str(tarball), env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed)))
    assert "keyguard.kms:%s was installed successfully" % galaxy_version() in output, output
    home = installed / "ansible_collections" / "keyguard" / "kms"
    with open(home / "MANIFEST.json", encoding="utf-8") as handle:
        assert json.load(handle)["collection_info"]["version"] == galaxy_version()
    assert (home / "tests" / "unit").is_dir() and not (home / "tests" / "harness").exists()
    completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"],
                               cwd=str(home), env=dict(os.environ, PYTHONPATH=str(installed),
                                                       ANSIBLE_COLLECTIONS_PATH=str(installed)),
                               capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert " passed" in completed.stdout


def test_ansible_builder_finds_the_collections_dependencies(tmp_path):
    tree = os.environ["ANSIBLE_COLLECTIONS_PATH"]
    listed = run(os.path.join(BIN, "ansible-builder"), "introspect", "--sanitize", tree)
    assert "boto3>=1.34.84  # from collection keyguard.kms" in listed, listed
    assert "botocore>=1.34.84  # from collection keyguard.kms" in listed, listed
    context = tmp_path / "context"
    definition = os.path.join(COLLECTION, "examples", "awx", "execution-environment.yml")
    run(os.path.join(BIN, "ansible-builder"), "create", "-f", definition, "--context", str(context))
    assert (context / "Containerfile").exists() or (context / "Dockerfile").exists()
    assert "keyguard.kms" in (context / "_build" / "requirements.yml").read_text()


def test_the_awx_example_project():
    awx = os.path.join(COLLECTION, "examples", "awx")
    with open(os.path.join(awx, "survey", "remediate.json"), encoding="utf-8") as handle:
        survey = json.load(handle)
    for question in survey["spec"]:
        assert set(("question_name", "variable", "type", "required")) <= set(question)
        assert question["type"] in ("text", "integer", "multiplechoice")
        assert question["variable"].startswith("rotation_")
    with open(os.path.join(awx, "inventory", "org.aws_accounts.yml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["plugin"] == "keyguard.kms.aws_accounts"
    for playbook in ("kms_report.yml", "kms_remediate.yml"):
        run(os.path.join(BIN, "ansible-playbook"), "--syntax-check", os.path.join(awx, "playbooks", playbook), cwd=awx)
