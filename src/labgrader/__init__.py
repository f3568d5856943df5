"""labgrader: build certification practice labs and grade what a candidate did in them."""
__version__ = "0.1.0"
