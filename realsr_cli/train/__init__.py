"""SR network training (``realsr train-sr``): data, losses, schedules, EMA, AMP, DDP, checkpoints, export."""

from realsr_cli.train.config import DEFAULTS, load_train_config
from realsr_cli.train.export import export_weights
from realsr_cli.train.trainer import Trainer, TrainResult, train_sr

__all__ = ["DEFAULTS", "TrainResult", "Trainer", "export_weights", "load_train_config", "train_sr"]
