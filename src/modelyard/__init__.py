"""modelyard: choose, size, prove and serve open-weight LLMs."""

__version__ = "0.1.0"
