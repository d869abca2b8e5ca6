"""The seeded directory fixtures of directory_world.py, for every test module here."""
from tests.unit.directory.directory_world import seeded_template, shared_world, world  # noqa: F401
