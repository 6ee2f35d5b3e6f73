"""Build an AWS Organization in the emulator: OUs, member accounts, tags, Regions opted in."""

ROLE_NAME = "keyguard-kms"


def build_organization(emulator, management, layout, tags=None):
    """Create the Organization of ``management`` with ``layout`` ({OU path: [account names]}).

    OU paths are like "Workloads/Prod"; accounts at "" sit under the root. Returns
    {account name: {"id", "ou_path"}} (moto picks the member account IDs).
    """
    org = emulator.boto3_client("organizations", management)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    units = {"": root}
    accounts = {}
    for path in sorted(layout, key=lambda p: p.count("/") if p else -1):
        parent = root
        if path:
            built = ""
            for name in path.split("/"):
                built = "%s/%s" % (built, name) if built else name
                if built not in units:
                    units[built] = org.create_organizational_unit(ParentId=parent, Name=name)[
                        "OrganizationalUnit"]["Id"]
                parent = units[built]
        for name in layout[path]:
            account_id = org.create_account(AccountName=name, Email="%s@example.com" % name)[
                "CreateAccountStatus"]["AccountId"]
            if parent != root:
                org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
            for key, value in (tags or {}).get(name, {}).items():
                org.tag_resource(ResourceId=account_id, Tags=[{"Key": key, "Value": value}])
            accounts[name] = {"id": account_id, "ou_path": "Root/" + path if path else "Root", "unit": parent}
    return accounts, units
