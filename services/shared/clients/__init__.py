"""Clients of other services' published RPC contracts (schemas/rpc/): what a service needs to ask another one."""
