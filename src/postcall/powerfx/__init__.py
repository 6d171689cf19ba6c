"""powerfx package."""
