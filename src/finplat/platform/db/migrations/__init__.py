"""Alembic migrations, shipped inside the package so `finplat migrate` works from a wheel."""
