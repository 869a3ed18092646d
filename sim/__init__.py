"""cogov: an agent-based simulator of enforcement governance (Hefei Baohe "大共治")."""

__version__ = "0.1.0"
