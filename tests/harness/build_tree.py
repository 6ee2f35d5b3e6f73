"""Lay out the collections tree that ansible-test, pytest and ansible-playbook run from.

ansible-test only runs from <tree>/ansible_collections/<namespace>/<name> and only finds
dependencies in the same tree, so the collection is copied there (the files git tracks
or would track) next to amazon.aws, which comes from the ``ansible`` wheel on PyPI
because Galaxy is not reachable from CI.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import zipfile

AMAZON_AWS_PREFIX = "ansible_collections/amazon/aws/"
# awx.awx is only for examples/awx/configure.yml, whose tasks the tests check against its modules' specs.
BUNDLED_PREFIXES = (AMAZON_AWS_PREFIX, "ansible_collections/awx/awx/")


def collection_files(source):
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=source, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    return [path for path in listed if path and os.path.isfile(os.path.join(source, path))]


def sync_collection(source, target):
    if os.path.isdir(target):
        shutil.rmtree(target)
    for path in collection_files(source):
        destination = os.path.join(target, path)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(os.path.join(source, path), destination)
    # The copy sits inside this repository's ignored build folder; its own git
    # repository makes ansible-test list its files instead of finding none.
    subprocess.run(["git", "init", "--quiet"], cwd=target, check=True)
    subprocess.run(["git", "add", "--all"], cwd=target, check=True)


def ensure_amazon_aws(tree, cache, ansible_version):
    if all(os.path.exists(os.path.join(tree, prefix, "MANIFEST.json")) for prefix in BUNDLED_PREFIXES):
        return
    wheels = glob.glob(os.path.join(cache, f"ansible-{ansible_version}-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", cache,
             f"ansible=={ansible_version}"],
            check=True,
        )
        wheels = glob.glob(os.path.join(cache, f"ansible-{ansible_version}-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        members = [name for name in wheel.namelist() if name.startswith(BUNDLED_PREFIXES)]
        wheel.extractall(tree, members)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--tree", required=True, help="the folder that holds ansible_collections/")
    parser.add_argument("--cache", required=True, help="where the ansible wheel is kept")
    parser.add_argument("--ansible-version", required=True)
    args = parser.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    ensure_amazon_aws(args.tree, args.cache, args.ansible_version)
    sync_collection(args.source, os.path.join(args.tree, "ansible_collections", "keyguard", "kms"))


if __name__ == "__main__":
    main()
