"""Write the variables table of roles/rotation/README.md from meta/argument_specs.yml.

argument_specs is the single source of the role's variables; the README's table is
generated from it (``--check`` fails when the README is stale, for the unit tests).
"""

import argparse
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECS = os.path.join(ROOT, "roles", "rotation", "meta", "argument_specs.yml")
README = os.path.join(ROOT, "roles", "rotation", "README.md")
BEGIN = "<!-- BEGIN VARIABLES: generated from meta/argument_specs.yml by tests/harness/role_readme.py -->"
END = "<!-- END VARIABLES -->"


def variables_table():
    with open(SPECS, encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    lines = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, spec in options.items():
        kind = spec["type"] + ("(%s)" % spec["elements"] if spec.get("elements") else "")
        if spec.get("choices"):
            kind += " " + "/".join(str(choice) for choice in spec["choices"])
        default = "`%s`" % yaml.safe_dump(spec["default"], default_flow_style=True).strip().removesuffix("...").strip() \
            if "default" in spec else "see description"
        description = " ".join(spec["description"]) if isinstance(spec["description"], list) else spec["description"]
        lines.append("| `%s` | %s | %s | %s |" % (name, kind, default, " ".join(description.split())))
    return "\n".join(lines)


def rendered(current):
    head, rest = current.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return head + BEGIN + "\n" + variables_table() + "\n" + END + tail


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the README is not up to date")
    args = parser.parse_args()
    with open(README, encoding="utf-8") as handle:
        current = handle.read()
    wanted = rendered(current)
    if args.check:
        if wanted != current:
            sys.exit("roles/rotation/README.md is stale: run python tests/harness/role_readme.py")
        return
    with open(README, "w", encoding="utf-8") as handle:
        handle.write(wanted)


if __name__ == "__main__":
    main()
