"""The bus's probe service (services/shared/testing/probe_service.py) running on a private vhost and database."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from nameko.runners import ServiceRunner

from services.shared.nameko_ext.config import container_config
from services.shared.settings import Settings
from services.shared.testing import probe_service
from services.shared.testing.probe_service import ProbeService


@contextlib.contextmanager
def running_probe(amqp_uri: str, url: str, var_dir: Path, **settings: Any) -> Iterator[tuple[Settings, sa.Engine]]:
    """The probe's settings (three attempts, short retries, plus ``settings``) and an engine on its database."""
    found = Settings(amqp_uri=amqp_uri, var_dir=var_dir, service_database_urls={"probe": url},
                     bus_max_attempts=3, bus_retry_delays_ms=(50, 100), **settings)
    engine = sa.create_engine(url)
    probe_service.metadata.create_all(engine)
    runner = ServiceRunner(container_config(found))
    runner.add_service(ProbeService)
    runner.start()
    try:
        yield found, engine
    finally:
        runner.stop()
        engine.dispose()
