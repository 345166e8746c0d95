"""Words that give a number or a phrase its meaning (``data/cues.yaml``), in the languages the
scanner reads: en de fr es it pt nl pl sv ru zh ja ko (and a few others for identifiers).

A word ending in ``*`` matches as a prefix (``diagnos*``: diagnosed, diagnosis, Diagnose);
words in Han, kana or Hangul match anywhere, since those scripts do not put spaces between
words; others must stand as whole words. Matching ignores case.
"""

from __future__ import annotations

from importlib.resources import files

import yaml

CUES: dict[str, tuple[str, ...]] = {
    category: tuple(words)
    for category, words in yaml.safe_load(
        files("modelyard.privacy").joinpath("data/cues.yaml").read_text(encoding="utf-8")
    ).items()
}
