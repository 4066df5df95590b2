"""The demo scenario: a realistic, deterministic incident across all six sources."""

from workbench.demo.scenario import DemoResult, build_incident, load_demo

__all__ = ["DemoResult", "build_incident", "load_demo"]
