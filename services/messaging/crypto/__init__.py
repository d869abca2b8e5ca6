"""Messaging's own layer over services.shared.pki: the MIME of a secure message, XDM, who a sealed message is for."""
