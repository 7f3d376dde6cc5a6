"""nlpcli: Korean text processing and modelling from the command line."""

__version__ = "0.1.0"
