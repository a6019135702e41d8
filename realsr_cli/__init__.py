"""realsr: real-world image super-resolution toolkit (library + ``realsr`` command)."""

__version__ = "0.14.0"

_API = ("Upscaler", "degrade", "score_arrays")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    """The in-memory API (``realsr_cli.api``), imported on first use so that ``realsr --version`` stays light."""
    if name in _API:
        from realsr_cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'realsr_cli' has no attribute {name!r}")
