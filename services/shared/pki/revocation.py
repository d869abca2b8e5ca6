"""What is known to be revoked: the CRLs an administrator configures, and the directory's own revocations.

CRLs come from files (``MAILLAGE_PKI_CRL_FILES``: PEM, several CRLs per file allowed, or DER), loaded
at start and read again when a file changes; nothing is fetched from the network. A CRL applies to a
certificate when it is issued under the certificate's issuer name (and the same authority key id when
both carry one); when the issuer's certificate is at hand (path validation), the CRL must also be
signed by that key, so a CRL forged under the same name revokes nothing. A CRL past its nextUpdate
still revokes what it lists (a revocation is never undone by time); the staleness is logged.

The directory revokes its certificates itself (``certificate.revoked`` events): the fingerprints this
process heard of are kept too (bounded), and refused like a CRL entry.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from services.shared.errors import Invalid
from services.shared.logging import get_logger

RECHECK_SECONDS = 5.0
MAX_FINGERPRINTS = 100_000
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.DOTALL)
log = get_logger(__name__)

Reason = str  # one sentence, naming no subject


def load_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    """Every CRL of a PEM file, or the one CRL of a DER file; ``Invalid`` if there is none or one is broken."""
    try:
        if data.lstrip().startswith(b"-----"):
            blocks = _PEM_CRL.findall(data)
            if not blocks:
                raise ValueError("no CRL")
            return [x509.load_pem_x509_crl(block) for block in blocks]
        return [x509.load_der_x509_crl(data)]
    except ValueError:
        raise Invalid("The file is not a certificate revocation list (X.509 CRL) in PEM or DER.") from None


class CrlFiles:
    """CRL files read at start (a broken one stops the start) and again when one changes.

    A file that turns unreadable or broken later keeps its previous CRLs (logged): an admin saving a
    file halfway must not un-revoke anything.
    """

    def __init__(self, paths: Sequence[Path], *, recheck_seconds: float = RECHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.paths = tuple(Path(path) for path in paths)
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._stamps: dict[Path, tuple[int, int]] = {}
        self._loaded: dict[Path, tuple[x509.CertificateRevocationList, ...]] = {}
        for path in self.paths:
            try:
                self._load(path)
            except (OSError, Invalid) as error:
                reason = error.message if isinstance(error, Invalid) else "it cannot be read"
                raise Invalid(f"The CRL file {path} cannot be used: {reason}") from None
        self._checked_at = clock()
        self.crls: tuple[x509.CertificateRevocationList, ...] = self._all()

    def current(self) -> tuple[x509.CertificateRevocationList, ...]:
        """The CRLs now, re-reading the files that changed (looked at most every few seconds)."""
        if not self.paths or self._clock() - self._checked_at < self._recheck_seconds:
            return self.crls
        with self._lock:
            self._checked_at = self._clock()
            changed = False
            for path in self.paths:
                try:
                    changed |= self._load(path)
                except (OSError, Invalid):
                    log.warning("crl file unusable, keeping its previous revocations", path=str(path))
            if changed:
                self.crls = self._all()
        return self.crls

    def _load(self, path: Path) -> bool:
        status = os.stat(path)
        stamp = (status.st_mtime_ns, status.st_size)
        if self._stamps.get(path) == stamp:
            return False
        crls = tuple(load_crls(path.read_bytes()))
        self._loaded[path], self._stamps[path] = crls, stamp
        now = datetime.now(UTC)
        stale = sum(1 for crl in crls if crl.next_update_utc is not None and crl.next_update_utc < now)
        log.info("crl file loaded", path=str(path), crls=len(crls),
                 revoked=sum(len(crl) for crl in crls), stale=stale)
        return True

    def _all(self) -> tuple[x509.CertificateRevocationList, ...]:
        return tuple(crl for path in self.paths for crl in self._loaded.get(path, ()))


class Revocations:
    """Decides whether a certificate is revoked, from the CRL files and the directory's revocations."""

    def __init__(self, crl_files: CrlFiles | None = None, *,
                 crls: Iterable[x509.CertificateRevocationList] = (),
                 fingerprints: Iterable[str] = (), max_fingerprints: int = MAX_FINGERPRINTS) -> None:
        self.crl_files = crl_files
        self._fixed = tuple(crls)
        self._fingerprints: OrderedDict[str, None] = OrderedDict.fromkeys(f.lower() for f in fingerprints)
        self._max_fingerprints = max_fingerprints

    def revoke_fingerprint(self, fingerprint_hex: str) -> None:
        """The directory revoked this certificate (SHA-256 of its DER, hex)."""
        self._fingerprints[fingerprint_hex.lower()] = None
        while len(self._fingerprints) > self._max_fingerprints:
            self._fingerprints.popitem(last=False)

    def reason(self, cert: x509.Certificate, issuer: x509.Certificate | None = None) -> Reason | None:
        """Why ``cert`` is revoked, or None. ``issuer``: its issuer's certificate, when known."""
        if self._fingerprints and cert.fingerprint(hashes.SHA256()).hex() in self._fingerprints:
            return "revoked in the directory"
        crls = self._fixed + (self.crl_files.current() if self.crl_files is not None else ())
        for crl in crls:
            if crl.issuer != cert.issuer or not _same_authority(crl, cert):
                continue
            if issuer is not None and not _signed_by(crl, issuer):
                continue
            if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                return "revoked by its authority (CRL)"
        return None


def _authority_key_id(extensions: x509.Extensions) -> bytes | None:
    try:
        return extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (x509.ExtensionNotFound, ValueError):
        return None


def _same_authority(crl: x509.CertificateRevocationList, cert: x509.Certificate) -> bool:
    crl_key, cert_key = _authority_key_id(crl.extensions), _authority_key_id(cert.extensions)
    return crl_key is None or cert_key is None or crl_key == cert_key


def _signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError, InvalidSignature):
        return False


_process = Revocations()
_OWNED = "_maillage_revocations"


def install(revocations: Revocations) -> None:
    """Make ``revocations`` what this process's certificate checks use when given none."""
    global _process
    _process = revocations


def install_crl_files(paths: Sequence[Path]) -> Revocations:
    """At a service's start: the CRL files of the settings (kept if already installed with the same files).

    The process-wide revocations hold CRLs only: what the directory revoked is known per service
    container (``for_owner``), so that two platforms in one process (tests) never mix theirs.
    """
    paths = tuple(Path(path) for path in paths)
    if _process.crl_files is None and not paths:
        return _process
    if _process.crl_files is not None and _process.crl_files.paths == paths:
        return _process
    install(Revocations(CrlFiles(paths) if paths else None))
    return _process


def for_owner(owner: object, crl_paths: Sequence[Path]) -> Revocations:
    """One service container's revocations: the process's CRL files, and the directory's it heard of."""
    found: Revocations | None = getattr(owner, _OWNED, None)
    if found is None:
        # Kept on the owner itself (a nameko container, reached through the weak proxy extensions hold),
        # so it lives and dies with it.
        found = Revocations(install_crl_files(crl_paths).crl_files)
        setattr(owner, _OWNED, found)
    return found


def current() -> Revocations:
    return _process
