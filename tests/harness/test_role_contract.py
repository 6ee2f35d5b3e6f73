# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/argument_specs.yml is the single source of the role's variables."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "rotation")


def load(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_defaults_match_argument_specs():
    options = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = load("defaults", "main.yml")
    assert set(defaults) == set(name for name, spec in options.items() if "default" in spec)
    for name, spec in options.items():
        assert name.startswith("rotation_")
        if "default" in spec:
            assert defaults[name] == spec["default"], name


def test_internal_names_stay_out_of_the_public_prefix():
    internal = load("vars", "main.yml")
    assert internal and all(name.startswith("__rotation_") for name in internal)


def test_entry_points_share_the_same_variables():
    specs = load("meta", "argument_specs.yml")["argument_specs"]
    assert specs["report"]["options"] == specs["main"]["options"]


def test_role_readme_is_generated_from_argument_specs():
    script = os.path.join(ROOT, "tests", "harness", "role_readme.py")
    completed = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
