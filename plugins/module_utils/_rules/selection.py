# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which keys a reference or a tag filter picks: the one home of key and tag matching.

Used by discovery (key_ids, tag_filters), the role's exemptions and Security Hub
findings alike. Plain data in and out.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations


def tag_filter_error(tag_filter, name="tag_filters"):
    """Why ``tag_filter`` is not a tag filter, or None.

    A tag filter maps a tag name to a value, a list of accepted values, or an empty
    value (any value).
    """
    example = "for example {keyguard:intended-deletion: 'true'} or {team: [payments, data]}"
    if not isinstance(tag_filter, dict):
        return "%s must be a dict of tag name to value(s), %s; got %s" % (name, example, type(tag_filter).__name__)
    for tag, values in tag_filter.items():
        if not isinstance(tag, str) or not tag:
            return "%s: tag names must be non-empty strings, %s; got %r" % (name, example, tag)
        items = values if isinstance(values, list) else [values]
        for value in items:
            if isinstance(value, (dict, list)):
                return "%s: the value of tag '%s' must be a string, a list of strings or empty, %s; got %r" % (
                    name, tag, example, values)
    return None


def normalize_tag_filter(tag_filter):
    """{tag name: [accepted values as strings]}; an empty list accepts any value."""
    normalized = {}
    for tag, values in (tag_filter or {}).items():
        if values in (None, ""):
            values = []
        elif not isinstance(values, list):
            values = [values]
        normalized[tag] = [_text(value) for value in values if value not in (None, "")]
    return normalized


def _text(value):
    # YAML turns true into a boolean; tag values are strings, and KMS tags say "true".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def matching_tag(tags, normalized_filter):
    """(name, value) of the first of the key's ``tags`` that the filter accepts, or None."""
    for tag, accepted in normalized_filter.items():
        if tag in tags and (not accepted or tags[tag] in accepted):
            return tag, tags[tag]
    return None


def tags_match_all(tags, normalized_filter):
    """Whether the key's ``tags`` satisfy every tag of the filter."""
    return all(tag in tags and (not accepted or tags[tag] in accepted) for tag, accepted in normalized_filter.items())


def key_names(key):
    """Every reference that names a listed key: key ID, key ARN, alias names and alias ARNs."""
    names = set([key.get("key_id"), key.get("key_arn")])
    aliases = key.get("aliases") or []
    names.update(aliases)
    arn = key.get("key_arn") or ""
    if ":key/" in arn:
        prefix = arn.split(":key/", 1)[0]
        names.update("%s:%s" % (prefix, alias) for alias in aliases)
    names.discard(None)
    return names


def key_id_of(reference, alias_targets):
    """The key ID a reference stands for, using ``alias_targets`` ({alias name or ARN: key ID}); None if unknown."""
    if reference in alias_targets:
        return alias_targets[reference]
    if ":key/" in reference:
        return reference.split(":key/", 1)[1]
    if reference.startswith("alias/") or ":alias/" in reference:
        return None
    return reference
