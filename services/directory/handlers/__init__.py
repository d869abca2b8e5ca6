"""The directory's use cases: plain functions taking keyword dependencies (uow, read, clock, actor)."""
