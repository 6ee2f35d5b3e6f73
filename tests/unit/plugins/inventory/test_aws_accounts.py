# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aws_accounts inventory plugin: account names are the members' input, never a reason to drop an account."""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.inventory.aws_accounts import InventoryModule


class Warnings:
    def __init__(self):
        self.messages = []

    def warning(self, message):
        self.messages.append(message)


def plugin():
    inventory = InventoryModule()
    inventory.display = Warnings()
    return inventory


def host(name, account_id):
    return {"name": name, "vars": {"aws_account_id": account_id}}


def test_accounts_that_share_a_name_each_get_their_account_id():
    inventory = plugin()
    hosts = [host("dup", "111111111111"), host("dup", "222222222222"), host("solo", "333333333333")]
    inventory._disambiguate(hosts)
    assert [h["name"] for h in hosts] == ["dup-111111111111", "dup-222222222222", "solo"]
    assert inventory.display.messages == ["keyguard.kms.aws_accounts: 2 accounts are named 'dup'; their hosts are "
                                          "dup-111111111111, dup-222222222222"]


def test_a_disambiguated_name_never_takes_another_accounts_real_name():
    inventory = plugin()
    hosts = [host("dup", "111111111111"), host("dup", "222222222222"), host("dup-111111111111", "444444444444")]
    inventory._disambiguate(hosts)
    names = [h["name"] for h in hosts]
    assert len(set(names)) == 3 and "111111111111" in names, names
