"""The one pydantic base for files and documents: unknown keys are errors, values are frozen.

Field docstrings become field descriptions (``use_attribute_docstrings``): they are the schema
documentation (docs/catalog.md) and the hints ``yard config check`` prints.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A model that refuses unknown keys (a typo is an error) and cannot be changed in place."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
