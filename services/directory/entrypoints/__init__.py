"""The directory's edge: HTTP routes (FHIR and JSON API) and RPC methods, each a few lines over a handler."""
