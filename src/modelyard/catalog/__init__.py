"""The catalog: models, GPUs, API prices and licenses, every fact with its source."""

from modelyard.catalog.loader import Catalog, cached_catalog, data_dir, load_catalog
from modelyard.catalog.lookup import find_api, find_gpu, find_model, normalize, suggest
from modelyard.catalog.params import ParamBreakdown, count_params
from modelyard.catalog.schema import (
    GPU,
    MLA,
    ApiOffer,
    Architecture,
    Capabilities,
    Claim,
    License,
    Model,
    MoE,
    Param,
    Price,
    Quantized,
    Ref,
    Source,
)

__all__ = [
    "GPU",
    "MLA",
    "ApiOffer",
    "Architecture",
    "Capabilities",
    "Catalog",
    "Claim",
    "License",
    "MoE",
    "Model",
    "Param",
    "ParamBreakdown",
    "Price",
    "Quantized",
    "Ref",
    "Source",
    "cached_catalog",
    "count_params",
    "data_dir",
    "find_api",
    "find_gpu",
    "find_model",
    "load_catalog",
    "normalize",
    "suggest",
]
