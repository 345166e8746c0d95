"""Errors meant for users: each message says where, what, and what to do next."""


class YardError(Exception):
    """An error whose message is shown to the user as is (the CLI exits 1)."""


class CatalogError(YardError):
    """A catalog file, entry or lookup is wrong."""


class PolicyError(YardError):
    """A policy expression (license, languages, ...) cannot be understood."""


class PlanError(YardError):
    """A planning question has no answer (unknown GPU, nothing fits, ...)."""


class ConfigError(YardError):
    """A configuration file or value is wrong."""


class BackendError(YardError):
    """An upstream backend failed or is misconfigured."""


class MissingExtraError(YardError):
    """An optional dependency is needed for this command."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(f"{purpose} needs {package}: pip install 'modelyard[{extra}]'")


class EvalError(YardError):
    """An eval suite, scorer or target is wrong."""


class MeasureError(YardError):
    """A measurement cannot run (no device, bad grid) or a calibration file is wrong."""


class Interrupted(YardError):
    """Ctrl-C stopped a long command; the message says what finished and where it was kept."""
