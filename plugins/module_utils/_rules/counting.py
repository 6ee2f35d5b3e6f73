# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Counts for summaries: how many records have each value of a field.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations


def count_by(records, field, values=()):
    """{value: how many of ``records`` have it}, every one of ``values`` present (0 when none); None skipped.

    ``field`` is a key of each record, or a callable of a record.
    """
    counts = dict((value, 0) for value in values)
    for record in records:
        value = field(record) if callable(field) else record[field]
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    return counts
