"""Singer target writing HubSpot courses and their associations."""

__version__ = "0.1.0"
"""Version reported when the distribution's metadata is not installed."""
