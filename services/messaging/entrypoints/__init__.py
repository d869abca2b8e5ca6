"""The nameko entrypoints of the messaging service, grouped by edge; service.py composes them."""
