"""RE2, the linear-time regular-expression engine every detector pattern runs on."""

from __future__ import annotations

import re2

MEMORY = 64 << 20
"""RE2's memory for one pattern's automata (its default, 8 MiB, is too small for the cue and
address patterns: RE2 then falls back to a slower matcher)."""

Pattern = re2._Regexp


def compile(pattern: str, ignore_case: bool = False) -> Pattern:
    """``pattern`` compiled by RE2 with room for its automata."""
    options = re2.Options()
    options.max_mem = MEMORY
    options.case_sensitive = not ignore_case
    return re2.compile(pattern, options)
