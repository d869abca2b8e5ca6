"""A stand-in `directory` nameko service answering its RPC contract (schemas/rpc/directory.json) from a fixture.

Used by the messaging integration and e2e tests until the real directory service runs there. In process:
``standin_service(fixture)``; as a process: ``python -m tests.support.directory_standin FIXTURE.json``.
The fixture: ``{"mailboxes": [ResolvedMailbox, ...], "objections": ["<INS>", ...]}``.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from nameko.rpc import rpc  # noqa: E402

MAX_ADDRESSES = 100


def standin_service(fixture: dict[str, Any]) -> type:
    mailboxes = {str(m["address"]).lower(): m for m in fixture.get("mailboxes", [])}
    objections = set(fixture.get("objections", []))

    class DirectoryStandIn:
        name = "directory"

        @rpc
        def resolve_addresses(self, addresses: list[str]) -> dict[str, Any]:
            if len(addresses) > MAX_ADDRESSES:
                raise ValueError(f"at most {MAX_ADDRESSES} addresses per call")
            return {address: mailboxes.get(address.lower()) for address in addresses}

        @rpc
        def exchange_objection(self, ins: str) -> dict[str, bool]:
            return {"objects_to_exchange": ins in objections, "refuses_dmp": False}

        @rpc
        def lookup_professional(self, identifier: str) -> None:
            return None

    return DirectoryStandIn


def main() -> None:
    from nameko.runners import ServiceRunner

    from services.shared.nameko_ext.config import container_config
    from services.shared.settings import read_settings

    fixture = json.loads(Path(sys.argv[1]).read_text())
    runner = ServiceRunner(container_config(read_settings()))
    runner.add_service(standin_service(fixture))
    runner.start()
    stopping = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.send(None) if not stopping.ready() else None)
    print("directory stand-in ready", flush=True)
    stopping.wait()
    runner.stop()


if __name__ == "__main__":
    main()
