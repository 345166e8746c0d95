"""`yard measure`: build a model's architecture with random weights and time it on a device.

Only the calibration documents load without torch; the builder and the timers import torch
when ``measure`` runs (``pip install 'modelyard[measure]'``).
"""

from modelyard.measure.run import DTYPES, Grid, measure, parse_grid
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
    "calibration_dir",
    "calibration_filename",
    "load_calibration",
    "load_calibrations",
    "load_train_calibration",
    "load_train_calibrations",
    "measure",
    "measured_architecture",
    "parse_grid",
    "save_calibration",
    "save_train_calibration",
]
