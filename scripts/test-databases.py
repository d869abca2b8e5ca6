"""Print the database backends the test suite can use here: PostgreSQL only when one answers."""
import os
import sys

url = os.environ.get("MAILLAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
try:
    import psycopg

    psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=5).close()
except Exception as exc:  # any failure means: run without it, and say why
    print(f"PostgreSQL not usable at {url.split('@')[-1]} ({exc.__class__.__name__}): tests run on SQLite only.",
          file=sys.stderr)
    print("sqlite")
else:
    print("sqlite,postgresql")
