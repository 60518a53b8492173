"""Helpers for tests: tiny local stand-ins for models that cannot be downloaded."""
