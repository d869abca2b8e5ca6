"""The RPC contract other services call (schemas/rpc/directory.json): one line over each handler."""
from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from services.directory.adapters.connections import Reader, reader, utc_now
from services.directory.handlers import rpc as handlers
from services.shared.errors import MaillageError


class RpcMethods:
    db: Any

    @rpc(expected_exceptions=(MaillageError,))
    def resolve_addresses(self, addresses: list[str]) -> dict[str, Any]:
        return handlers.resolve_addresses(addresses, read=self._rpc_reader(), clock=utc_now)

    @rpc(expected_exceptions=(MaillageError,))
    def lookup_professional(self, identifier: str) -> dict[str, Any] | None:
        return handlers.lookup_professional(identifier, read=self._rpc_reader())

    @rpc(expected_exceptions=(MaillageError,))
    def exchange_objection(self, ins: str) -> dict[str, bool]:
        return handlers.exchange_objection(ins, read=self._rpc_reader())

    @rpc(expected_exceptions=(MaillageError,))
    def cpts_members(self, cpts_finess: str) -> list[dict[str, Any]]:
        return handlers.cpts_members(cpts_finess, read=self._rpc_reader())

    @rpc(expected_exceptions=(MaillageError,))
    def professionals_serving(self, profession_code: str, postal_code: str) -> list[dict[str, Any]]:
        return handlers.professionals_serving(profession_code, postal_code, read=self._rpc_reader())

    def _rpc_reader(self) -> Reader:
        return reader(self.db.engine)
