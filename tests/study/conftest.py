"""Fixtures of the event-study tests."""
