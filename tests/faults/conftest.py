"""Fixtures of the fault tests: the target's run helpers, shared with tests/target."""

from tests.target.conftest import run_target, target_config

__all__ = ["run_target", "target_config"]
