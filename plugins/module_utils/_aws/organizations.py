# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private service layer for AWS Organizations and the Account API: the accounts of an Organization.

Organizations throttles hard (TooManyRequestsException): calls are paced and
retried by _aws. The tree is walked from the roots (or the OUs asked for), so each
account comes with the path of organizational units above it.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsService

ACTIVE = "ACTIVE"
ENABLED_REGION_STATUSES = ("ENABLED", "ENABLED_BY_DEFAULT")


class OrganizationsService(AwsService):
    """AWS Organizations calls, from the management account or a delegated administrator."""

    # Not published per operation; a pace Organizations tolerates, throttling is retried anyway.
    RATE_LIMITS = {"ListRoots": 5.0, "ListOrganizationalUnitsForParent": 5.0, "ListAccountsForParent": 5.0,
                   "ListAccounts": 5.0, "ListTagsForResource": 5.0, "DescribeOrganizationalUnit": 5.0,
                   "ListParents": 5.0}
    IAM_PREFIX = "organizations"
    SERVICE = "AWS Organizations"
    HINTS = {
        "AWSOrganizationsNotInUseException": "the account of these credentials is not in an AWS Organization: use "
        "credentials of the Organization's management account or of a delegated administrator",
        "AccessDeniedException": "use credentials of the Organization's management account or of a delegated "
        "administrator, allowed {action}",
        "ParentNotFoundException": "check organizational_units: each must be an OU ID (ou-...) or root ID (r-...) of "
        "this Organization",
        "OrganizationalUnitNotFoundException": "check organizational_units: each must be an OU ID (ou-...) or root ID "
        "(r-...) of this Organization",
        "InvalidInputException": "check organizational_units: each must be an OU ID (ou-...) or root ID (r-...)",
        "TargetNotFoundException": "the account is no longer in the Organization",
    }

    def roots(self):
        return self._pages("ListRoots", "list_roots", "Roots")

    def child_units(self, parent_id):
        return self._pages("ListOrganizationalUnitsForParent", "list_organizational_units_for_parent",
                           "OrganizationalUnits", ParentId=parent_id)

    def accounts_under(self, parent_id):
        return self._pages("ListAccountsForParent", "list_accounts_for_parent", "Accounts", ParentId=parent_id)

    def unit_name(self, unit_id):
        if unit_id.startswith("r-"):
            return "Root"
        return self._call("DescribeOrganizationalUnit", "describe_organizational_unit",
                          OrganizationalUnitId=unit_id)["OrganizationalUnit"]["Name"]

    def tags(self, account_id):
        tags = self._pages("ListTagsForResource", "list_tags_for_resource", "Tags", ResourceId=account_id)
        return dict((tag["Key"], tag["Value"]) for tag in tags)

    def path_from_root(self, unit_id):
        """(names, IDs) of the units from the root down to ``unit_id``, so a scoped walk names paths as a whole one does."""
        names, ids = [self.unit_name(unit_id)], [unit_id]
        while not ids[0].startswith("r-"):
            parents = self._pages("ListParents", "list_parents", "Parents", ChildId=ids[0])
            if not parents:
                break
            ids.insert(0, parents[0]["Id"])
            names.insert(0, self.unit_name(parents[0]["Id"]))
        return names, ids

    def accounts(self, start_units=None):
        """Every account under ``start_units`` (OU or root IDs; the roots when None), each with its OU path.

        Returns dicts with id, name, email, status, ou_path (names, Root first) and ou_ids (root first).
        """
        found = {}
        pending = [(unit,) + self.path_from_root(unit) for unit in start_units] if start_units else [
            (root["Id"], [root.get("Name") or "Root"], [root["Id"]]) for root in self.roots()]
        while pending:
            unit, names, ids = pending.pop(0)
            for account in self.accounts_under(unit):
                found.setdefault(account["Id"], {
                    "id": account["Id"], "name": account.get("Name"), "email": account.get("Email"),
                    "status": account.get("Status") or account.get("State"), "ou_path": "/".join(names),
                    "ou_ids": list(ids)})
            for child in self.child_units(unit):
                pending.append((child["Id"], names + [child.get("Name") or child["Id"]], ids + [child["Id"]]))
        return [found[account_id] for account_id in sorted(found)]


class AccountRegionsService(AwsService):
    """The Account API's Regions of an account, asked from the management account or a delegated administrator."""

    RATE_LIMITS = {"ListRegions": 5.0}
    IAM_PREFIX = "account"
    SERVICE = "AWS Account"

    def enabled_regions(self, account_id=None):
        """The Regions the account can use (ENABLED or ENABLED_BY_DEFAULT), sorted."""
        params = {"MaxResults": 50, "RegionOptStatusContains": list(ENABLED_REGION_STATUSES)}
        if account_id:
            params["AccountId"] = account_id
        return sorted(region["RegionName"] for region in self._pages("ListRegions", "list_regions", "Regions", **params)
                      if region.get("RegionOptStatus") in ENABLED_REGION_STATUSES)
