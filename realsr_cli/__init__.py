"""realsr: real-world image super-resolution toolkit (library + ``realsr`` command)."""

__version__ = "0.1.0"
