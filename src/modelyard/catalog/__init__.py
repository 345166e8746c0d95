"""The catalog: models, GPUs, API prices and licenses, every fact with its source.

Other packages, the CLI and the benchmarks use these names; each loads its module on first use.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_names

if TYPE_CHECKING:
    from modelyard.catalog.hardware import (
        Hardware,
        cheapest_price,
        detect,
        gpu_sources,
        list_gpus,
    )
    from modelyard.catalog.importers import import_model
    from modelyard.catalog.loader import Catalog, cached_catalog, data_dir, load_catalog
    from modelyard.catalog.lookup import find_api, find_gpu, find_model, normalize, suggest
    from modelyard.catalog.lora import parse_targets, serving_bytes
    from modelyard.catalog.params import ParamBreakdown, count_params
    from modelyard.catalog.queries import (
        ModelRow,
        check_params,
        claims_by_metric,
        list_apis,
        model_sources,
    )
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
        RopeScaling,
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
    "Hardware",
    "License",
    "MoE",
    "Model",
    "ModelRow",
    "Param",
    "ParamBreakdown",
    "Price",
    "Quantized",
    "Ref",
    "RopeScaling",
    "Source",
    "cached_catalog",
    "cheapest_price",
    "check_params",
    "claims_by_metric",
    "count_params",
    "data_dir",
    "detect",
    "find_api",
    "find_gpu",
    "find_model",
    "gpu_sources",
    "import_model",
    "list_apis",
    "list_gpus",
    "load_catalog",
    "model_sources",
    "normalize",
    "parse_targets",
    "serving_bytes",
    "suggest",
]
__getattr__ = lazy_names(__name__, __file__)
