"""A trained router on disk: one JSON file with a version and its provenance.

The file records the format version, the sha256 of the label file it was trained on, the
candidate names (cheapest first), the embedder, the feature list, the quality model's weights
(numpy arrays as base64 float32/int32) and the calibrated threshold; when the labels carried
replies, the cascade's reply scorers with their thresholds (route/cascade.py; an optional key,
so files without it still load). Version 3 added the n-gram
predictor and the blender (route/quality.py), version 4 the answer-choice statistics
(route/features.py), version 5 the shared-prefix table (route/prefixes.py), the system prompt's
features and the head-and-tail window; changing the n-gram hashing (route/ngrams.py) changes the
meaning of the
stored buckets and needs a new version too. Loading checks all of
it: a file of another version, another embedder, or one used for candidates it was not trained
on fails with a RouterFileError.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelyard.errors import YardError
from modelyard.route.cascade import ReplyScorer
from modelyard.route.features import STATS
from modelyard.route.prefixes import PrefixTable
from modelyard.route.quality import QualityModel

FORMAT = "modelyard-router"
VERSION = 5


class RouterFileError(YardError):
    """A router file is unreadable, of another version, or used for the wrong candidates."""


@dataclass
class RouterArtifact:
    """Everything a Router needs, as saved."""

    candidates: list[str]
    """Model names the router was trained for, cheapest first."""
    quality: QualityModel
    threshold: float
    data_sha256: str
    data_rows: int
    embedder: str
    target: dict[str, Any]
    prices: list[dict[str, float]] | None = None
    """USD per 1M input/output tokens per candidate, when training had prices."""
    features: list[str] = field(default_factory=lambda: list(STATS))
    cascade: list[ReplyScorer] = field(default_factory=list)
    """Reply scorers of the cheaper candidates, when the labels carried their replies."""
    prefixes: PrefixTable = field(default_factory=PrefixTable)
    """Prefixes the training prompts share, read past at every decision."""
    dropped: dict[str, int] = field(default_factory=dict)
    """What training skipped in the label file, and how often."""

    def scorer(self, candidate: str) -> ReplyScorer | None:
        """The reply scorer for ``candidate``, if training had its replies."""
        return next((s for s in self.cascade if s.candidate == candidate), None)

    def to_json(self) -> dict[str, Any]:
        """The file's JSON document."""
        body = asdict(self)
        body["quality"] = self.quality.to_dict()
        body["cascade"] = [s.to_dict() for s in self.cascade]
        body["prefixes"] = self.prefixes.to_list()
        return {"format": FORMAT, "version": VERSION, **body}


def save(artifact: RouterArtifact, path: Path) -> Path:
    """Write the router file (compact JSON) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(artifact.to_json(), separators=(",", ":")))
    return path


def load(
    path: Path, candidates: Sequence[str] | None = None, embedder: str | None = None
) -> RouterArtifact:
    """Read a router file, checking its version and, if given, candidates and embedder.

    Raises:
        RouterFileError: unreadable file, other format or version, other embedder, or a
            candidate the router was not trained for.
    """
    raw = _read(path)
    if raw.get("format") != FORMAT or raw.get("version") != VERSION:
        raise RouterFileError(
            f"{path}: format {raw.get('format')!r} version {raw.get('version')!r}; this modelyard "
            f"reads {FORMAT} version {VERSION}: retrain with `yard route train`"
        )
    art = _build(path, raw)
    if embedder is not None and art.embedder != embedder:
        raise RouterFileError(f"{path}: trained with embedder {art.embedder!r}, not {embedder!r}")
    if candidates is not None:
        check_candidates(art, candidates, path)
    return art


def check_candidates(art: RouterArtifact, candidates: Sequence[str], path: Path | str) -> None:
    """Fail loudly if any candidate is one the router has no quality model for."""
    unknown = [c for c in candidates if c not in art.candidates]
    if unknown:
        raise RouterFileError(
            f"{path}: the router was trained for {', '.join(art.candidates)}, not for "
            f"{', '.join(unknown)}; retrain with labels for those models (yard route train)"
        )


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
        if not isinstance(raw, dict):
            raise RouterFileError(f"{path}: not a router file (a JSON {type(raw).__name__})")
        return raw
    except FileNotFoundError:
        raise RouterFileError(
            f"{path}: no such router file; make one with `yard route train`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RouterFileError(f"{path}: not a readable router file ({exc})") from None


def _build(path: Path, raw: dict[str, Any]) -> RouterArtifact:
    try:
        fields = {
            k: raw[k]
            for k in ("candidates", "threshold", "data_sha256", "data_rows", "embedder", "target")
        }
        quality = QualityModel.from_dict(raw["quality"])
        cascade = [ReplyScorer.from_dict(r) for r in raw.get("cascade", [])]
        prefixes = PrefixTable.from_list(raw.get("prefixes", []))
        dropped = {str(k): int(v) for k, v in raw.get("dropped", {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RouterFileError(
            f"{path}: missing or malformed field {exc}; retrain the router"
        ) from None
    if raw.get("features") != list(STATS):
        raise RouterFileError(f"{path}: trained on other prompt features; retrain the router")
    if quality.candidates != len(fields["candidates"]):
        raise RouterFileError(
            f"{path}: weights do not match the {len(fields['candidates'])} candidates"
        )
    strangers = [s.candidate for s in cascade if s.candidate not in fields["candidates"]]
    if strangers:
        raise RouterFileError(f"{path}: a reply scorer for {strangers[0]!r}, not a candidate")
    return RouterArtifact(quality=quality, prices=raw.get("prices"), cascade=cascade,
                          prefixes=prefixes, dropped=dropped, **fields)  # fmt: skip
