"""Scenario files: the schema (single source of truth) and the loader."""

from .loader import (
           ScenarioError,
           load_scenario,
           scenario_sha256,
           scenario_to_dict,
           validate_mapping,
)
from .schema import Scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario", "scenario_sha256", "scenario_to_dict",
           "validate_mapping"]
