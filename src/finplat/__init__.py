"""finplat: a self-hostable financial services platform."""

__version__ = "0.1.0"
