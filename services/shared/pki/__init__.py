"""Shared PKI: certificates (loading, facts, path validation, revocation) and CMS / S/MIME signing and sealing.

Used by messaging and by any service that signs or seals. ``cms`` is the facade (sign, verify, encrypt,
decrypt, seal, open_sealed); ``errors`` holds the domain errors. ``dev`` mints a development signing
identity and is for development only; the throwaway test PKI lives in ``tests/support/pki.py``.
"""
