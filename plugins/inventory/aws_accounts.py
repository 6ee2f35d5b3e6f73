# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_accounts
short_description: One inventory host per account of an AWS Organization, ready for the rotation role
version_added: 1.0.0
description:
  - Lists the active accounts of an AWS Organization with AWS Organizations, from the management account or a
    delegated administrator, and makes each one an inventory host for the M(keyguard.kms.rotation) role
    (C(connection=local)), with its account ID, name, email and path of organizational units.
  - Walks the Organization from its roots, or from the OUs or roots given in O(organizational_units), recursively.
  - Sets C(rotation_assume_role_arn) from O(assume_role_name), in the partition of the Regions, and
    C(rotation_regions) from O(regions), a list or V(enabled) (each account's enabled Regions, read with the AWS
    Account API's C(ListRegions)).
  - Calls to Organizations are paced and throttling (C(TooManyRequestsException)) is retried with jittered backoff.
  - The inventory file name must end with C(aws_accounts.yml) or C(aws_accounts.yaml).
author:
  - keyguard.kms contributors (@keyguard)
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [keyguard.kms.aws_accounts]
  organizational_units:
    description:
      - OU IDs (C(ou-...)) or root IDs (C(r-...)) whose accounts, at any depth, become hosts. All accounts when empty.
    type: list
    elements: str
    default: []
  include_accounts:
    description: Only these account IDs.
    type: list
    elements: str
    default: []
  exclude_accounts:
    description: Never these account IDs (for example the management account, or one run elsewhere).
    type: list
    elements: str
    default: []
  account_tags:
    description: Read each account's tags (C(ListTagsForResource)) into C(aws_account_tags), for example for O(keyed_groups).
    type: bool
    default: false
  assume_role_name:
    description:
      - Name of the role, in every member account, that the rotation role assumes (for example one created by
        CloudFormation StackSets). Sets C(rotation_assume_role_arn) to C(arn:<partition>:iam::<account>:role/<name>).
      - Not set for the account of the inventory's own credentials, which needs no role.
    type: str
  regions:
    description:
      - The Regions each host's rotation role works in (C(rotation_regions)), as a list, or V(enabled) for each
        account's enabled Regions (C(ENABLED) and C(ENABLED_BY_DEFAULT)); not set when empty.
    type: raw
    default: []
  hostname:
    description:
      - What names the hosts, the account ID (unique) or the account name.
      - Account names are not unique in an Organization, and each member account sets its own. Accounts that share
        a name become C(<name>-<account ID>) each, with a warning, so no account is ever dropped.
    type: str
    choices: [account_id, account_name]
    default: account_id
  concurrency:
    description: Accounts whose tags or Regions are read at once.
    type: int
    default: 4
notes:
  - An account whose tags (O(account_tags)) or Regions (O(regions=enabled)) cannot be read is still a host; it
    carries the error in C(aws_account_error), and the rotation role fails that host in its first task, before any
    AWS call, naming it, while the other accounts go on. With O(strict=true) the whole inventory fails instead.
  - O(regions=enabled) needs the Organization's trusted access for AWS Account Management
    (C(aws organizations enable-aws-service-access --service-principal account.amazonaws.com)) when run from the
    management account, or a delegated administrator for it.
  - C(aws_account_ou_path) and C(aws_account_ou_ids) always start at the root, also when O(organizational_units)
    scopes the walk (read with C(organizations:ListParents)), so O(keyed_groups) names do not change with the scope.
  - Needs C(organizations:ListRoots), C(organizations:ListOrganizationalUnitsForParent),
    C(organizations:ListAccountsForParent), C(organizations:DescribeOrganizationalUnit), and
    C(organizations:ListTagsForResource) with O(account_tags), C(account:ListRegions) with O(regions=enabled), and
    C(organizations:ListParents) with O(organizational_units).
  - Every host is in the group C(aws_accounts); use O(keyed_groups) for one group per OU path or per tag.
  - Host variables - C(aws_account_id), C(aws_account_name), C(aws_account_email), C(aws_account_ou_path) (OU
    names from the root, C(Root/Workloads/Prod)), C(aws_account_ou_ids), C(aws_account_tags) (with O(account_tags)),
    C(aws_account_error) (only on an account that could not be read),
    C(rotation_assume_role_arn), C(rotation_regions) and C(ansible_connection=local).
extends_documentation_fragment:
  - inventory_cache
  - constructed
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
  - amazon.aws.assume_role.plugins
"""

EXAMPLES = r"""
---
# org.aws_accounts.yml: every active account, with its enabled Regions, through a StackSets role
plugin: keyguard.kms.aws_accounts
assume_role_name: keyguard-kms-remediate
regions: enabled
exclude_accounts: ["111122223333"]

---
# prod.aws_accounts.yml: the accounts under two OUs, grouped by OU path and by an account tag
plugin: keyguard.kms.aws_accounts
profile: org-management
organizational_units: [ou-ab12-prod0001, ou-ab12-prod0002]
regions: [eu-west-1, eu-central-1]
assume_role_name: keyguard-kms-remediate
account_tags: true
hostname: account_name
keyed_groups:
  - key: aws_account_ou_path
    prefix: ou
  - key: aws_account_tags.team | default('none')
    prefix: team
compose:
  # compose values are Jinja expressions: quote strings, numbers as they are
  rotation_period_days: "180"
  rotation_report_dir: "'/var/lib/keyguard/reports'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /var/cache/keyguard-inventory
"""

from ansible.errors import AnsibleParserError

from ansible_collections.amazon.aws.plugins.plugin_utils.inventory import AWSInventoryBase

from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import account_id_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import client_config
from ansible_collections.keyguard.kms.plugins.module_utils._aws.organizations import ACTIVE
from ansible_collections.keyguard.kms.plugins.module_utils._aws.organizations import AccountRegionsService
from ansible_collections.keyguard.kms.plugins.module_utils._aws.organizations import OrganizationsService
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import partition_of
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import region_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.concurrency import map_concurrently

GROUP = "aws_accounts"
# Organizations and the Account API are global; their calls go through us-east-1 in the aws partition.
API_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-northwest-1", "aws-us-gov": "us-gov-west-1"}


class InventoryModule(AWSInventoryBase):
    NAME = "keyguard.kms.aws_accounts"
    INVENTORY_FILE_SUFFIXES = ("aws_accounts.yml", "aws_accounts.yaml")

    def _do_fail(self, message):
        raise AnsibleParserError(message)

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(self.INVENTORY_FILE_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        found, hosts = self.get_cached_result(path, cache)
        if not found:
            hosts = self._accounts_as_hosts()
            self.update_cached_result(path, cache, hosts)
        self._populate(hosts)

    def _settings(self):
        regions = self.get_option("regions") or []
        errors = []
        if regions != "enabled":
            if not isinstance(regions, list):
                errors.append("regions must be a list of Region names or 'enabled', got %r" % (regions,))
                regions = []
            else:
                errors.extend("regions: " + problem for problem in region_errors(regions))
        units = self.get_option("organizational_units") or []
        errors.extend("organizational_units: '%s' is not an OU ID (ou-...) or root ID (r-...)" % unit
                      for unit in units if not unit.startswith(("ou-", "r-")))
        for option in ("include_accounts", "exclude_accounts"):
            errors.extend(account_id_errors(option, self.get_option(option)))
        if errors:
            self._do_fail("%s: %s" % (self.NAME, "; ".join(errors)))
        partition = partition_of(regions[0] if isinstance(regions, list) and regions else (self.region or "us-east-1"))
        return regions, units, partition

    def _accounts_as_hosts(self):
        regions, units, partition = self._settings()
        api_region = API_REGIONS.get(partition, "us-east-1")
        config = client_config()
        organizations = OrganizationsService(self.client("organizations", region=api_region, config=config), api_region)
        include, exclude = set(self.get_option("include_accounts")), set(self.get_option("exclude_accounts"))
        try:
            accounts = [account for account in organizations.accounts(units or None)
                        if account["status"] == ACTIVE and (not include or account["id"] in include)
                        and account["id"] not in exclude]
            own = self._caller_account()
        except AwsError as error:
            self._do_fail("%s could not list the Organization's accounts: %s" % (self.NAME, error.message))
        if self.get_option("account_tags"):
            self._per_account(accounts, "tags", organizations.tags)
        if regions == "enabled":
            service = AccountRegionsService(self.client("account", region=api_region, config=config), api_region)
            self._per_account(accounts, "regions", lambda account_id: service.enabled_regions(
                None if account_id == own else account_id))
        hosts = [self._host(account, regions, partition, own) for account in accounts]
        self._disambiguate(hosts)
        return hosts

    def _per_account(self, accounts, field, read):
        """Read ``field`` of every account; one account's failure stays on that account (all fail with strict)."""
        def attempt(account):
            try:
                return read(account["id"]), None
            except AwsError as error:
                return None, error.message

        outcomes = map_concurrently(attempt, accounts, self.get_option("concurrency"))
        for account, (value, error) in zip(accounts, outcomes):
            if error is None:
                account[field] = value
                continue
            if self.get_option("strict"):
                self._do_fail("%s could not read the %s of account %s (strict): %s" % (
                    self.NAME, field, account["id"], error))
            account.setdefault("errors", []).append("%s: %s" % (field, error))
            self.display.warning("%s: account %s (%s): its %s could not be read, so the rotation role fails its host "
                                 "before any call: %s" % (self.NAME, account["id"], account["name"], field, error))

    def _disambiguate(self, hosts):
        """Account names are not unique: hosts that would share one get the account ID too, never dropped.

        A name made that way may be another account's real name; then both fall back to their account IDs.
        """
        while True:
            by_name = {}
            for host in hosts:
                by_name.setdefault(host["name"], []).append(host)
            shared = [(name, sharing) for name, sharing in sorted(by_name.items()) if len(sharing) > 1]
            if not shared:
                return
            for name, sharing in shared:
                for host in sharing:
                    account_id = host["vars"]["aws_account_id"]
                    host["name"] = account_id if name.endswith(account_id) or name == account_id else "%s-%s" % (
                        name, account_id)
                self.display.warning("%s: %d accounts are named %r; their hosts are %s" % (
                    self.NAME, len(sharing), name, ", ".join(host["name"] for host in sharing)))

    def _caller_account(self):
        try:
            return self.client("sts", config=client_config()).get_caller_identity()["Account"]
        except Exception:  # pylint: disable=broad-except  # only needed to leave our own account without a role
            return None

    def _host(self, account, regions, partition, own):
        role = self.get_option("assume_role_name")
        variables = {
            "ansible_connection": "local",
            "aws_account_id": account["id"],
            "aws_account_name": account["name"],
            "aws_account_email": account["email"],
            "aws_account_ou_path": account["ou_path"],
            "aws_account_ou_ids": account["ou_ids"],
        }
        if "tags" in account:
            variables["aws_account_tags"] = account["tags"]
        if account.get("errors"):
            variables["aws_account_error"] = "; ".join(account["errors"])
        if role and account["id"] != own:
            variables["rotation_assume_role_arn"] = "arn:%s:iam::%s:role/%s" % (partition, account["id"], role)
        if regions == "enabled":
            variables["rotation_regions"] = account.get("regions") or []
        elif regions:
            variables["rotation_regions"] = list(regions)
        name = account["id"] if self.get_option("hostname") == "account_id" else (account["name"] or account["id"])
        return {"name": name, "vars": variables}

    def _populate(self, hosts):
        self.inventory.add_group(GROUP)
        strict = self.get_option("strict")
        for host in hosts:
            self.inventory.add_host(host["name"], group=GROUP)
            for key, value in host["vars"].items():
                self.inventory.set_variable(host["name"], key, value)
            self._set_composite_vars(self.get_option("compose"), host["vars"], host["name"], strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), host["vars"], host["name"], strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host["vars"], host["name"], strict=strict)
