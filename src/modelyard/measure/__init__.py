"""`yard measure`: build a model's architecture with random weights and time it on a device.

Only the calibration documents load without torch; the builder and the timers import torch
when used (``pip install 'modelyard[measure]'``). Other packages, the CLI and the benchmarks use
these names; each loads its module on first use.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_names

if TYPE_CHECKING:
    from modelyard.measure.kvcache import allocate_cache
    from modelyard.measure.model import build_model
    from modelyard.measure.run import DTYPES, Grid, measure, parse_grid
    from modelyard.measure.timing import cuda_ms, graphed
    from modelyard.measure.train import TrainSetup, measure_training, parse_train_grid
    from modelyard.plan.calibration import (
        Calibration,
        DecodePoint,
        PrefillPoint,
        calibration_dir,
        calibration_filename,
        load_calibration,
        load_calibrations,
        measured_architecture,
        save_calibration,
    )
    from modelyard.plan.train_calibration import (
        TrainCalibration,
        TrainPoint,
        load_train_calibration,
        load_train_calibrations,
        save_train_calibration,
    )

__all__ = [
    "DTYPES",
    "Calibration",
    "DecodePoint",
    "Grid",
    "PrefillPoint",
    "TrainCalibration",
    "TrainPoint",
    "TrainSetup",
    "allocate_cache",
    "build_model",
    "calibration_dir",
    "calibration_filename",
    "cuda_ms",
    "graphed",
    "load_calibration",
    "load_calibrations",
    "load_train_calibration",
    "load_train_calibrations",
    "measure",
    "measure_training",
    "measured_architecture",
    "parse_grid",
    "parse_train_grid",
    "save_calibration",
    "save_train_calibration",
]
__getattr__ = lazy_names(__name__, __file__)
