# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names made from host names that accounts' owners control: safe, unique, stable, readable where they can be."""

from __future__ import annotations

import re

import pytest

from ansible_collections.keyguard.kms.plugins.plugin_utils._role import names
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import publish

HOSTILE = ["../../../escaped", "team/pay", "acct.one", "acct-one", "acct one", "acct_one", "prød-1", "..", ".",
           "", "a" * 300, "-", "日本", "x\x00y", "CON"]


@pytest.mark.parametrize("ordinary", ["111122223333", "payments-prod", "acct.one", "acct_one", "Prod01"])
def test_ordinary_host_names_keep_their_documented_names(ordinary):
    assert names.file_name(ordinary) == ordinary
    if re.match(r"^\w+$", ordinary, re.ASCII):
        assert publish.stats_key(ordinary) == "keyguard_kms_rotation__" + ordinary


def test_every_derived_name_is_safe_and_no_two_hosts_share_one():
    files = [names.file_name(host) for host in HOSTILE]
    stats = [publish.stats_key(host) for host in HOSTILE]
    assert len(set(files)) == len(HOSTILE) and len(set(stats)) == len(HOSTILE)
    for name in files:
        assert re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name) and len(name) <= 100, name
    for name in stats:
        assert re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name), name
    assert names.file_name("team/pay") == names.file_name("team/pay"), "stable from run to run"
    assert names.file_name("team/pay").startswith("team-pay-")


def test_a_safe_name_that_looks_derived_cannot_take_another_hosts_name():
    forged_file, forged_variable = names.file_name("acct one"), names.variable_part("acct one")
    assert names.file_name(forged_file) != forged_file
    assert names.variable_part(forged_variable) != forged_variable


def test_inside_refuses_anything_but_a_file_directly_in_the_folder(tmp_path):
    assert names.inside(str(tmp_path), "a.json") == str(tmp_path / "a.json")
    for name in ("../a", "..", "", "sub/a"):
        with pytest.raises(ValueError):
            names.inside(str(tmp_path), name)


def test_a_host_named_like_the_organization_report_gets_a_name_of_its_own():
    assert names.file_name("organization") != "organization"
    assert names.file_name("Organization").startswith("Organization-")
