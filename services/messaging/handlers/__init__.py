"""Use cases of the messaging service: plain functions taking keyword dependencies."""
