"""Secure-message crypto of the messaging service: MIME building and CMS (S/MIME) sign/encrypt."""
