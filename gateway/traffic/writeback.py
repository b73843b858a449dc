"""Writing a renewed certificate back to the file provider's configuration.

Only inside ``TRAEFIK_DYNAMIC_DIR``: certificate files referenced by path are replaced in
place (with a backup; the key stays 0600), inline PEMs in a YAML file are replaced in that
file. A certificate stored anywhere else is refused with the reason.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from gateway.backends.acme.client import Issued
from gateway.errors import BadUserInput
from gateway.files import atomic_write, backup
from gateway.traffic.certificates import CertificateInfo, Origin, describe
from gateway.traffic.dynamic_dir import DynamicDir, load

_NOWHERE = Origin(source="file", location="")


def write_file_certificate(
    directory: DynamicDir, cert: CertificateInfo, issued: Issued
) -> tuple[str, Path | None]:
    """Blocking. Returns (what was written, the backup of the previous certificate)."""
    origin = cert.origin
    config_path = Path(origin.location)
    if not directory.contains(config_path):
        raise BadUserInput(
            "certificate configuration is outside TRAEFIK_DYNAMIC_DIR", field="domain"
        )
    if origin.inline:
        return str(config_path), _replace_inline(config_path, cert, issued)
    if not origin.cert_file or not origin.key_file:
        raise BadUserInput("certificate entry names no certFile/keyFile", field="domain")
    cert_path, key_path = directory.locate(origin.cert_file), directory.locate(origin.key_file)
    for path in (cert_path, key_path):
        if not directory.contains(path):
            raise BadUserInput(
                f"{path.name} is outside TRAEFIK_DYNAMIC_DIR: the gateway writes only there",
                field="domain",
            )
    saved = backup(cert_path)
    backup(key_path)
    atomic_write(key_path, issued.key_pem, mode=0o600)
    atomic_write(cert_path, issued.fullchain_pem, mode=0o644)
    return str(cert_path), saved


def _replace_inline(config_path: Path, cert: CertificateInfo, issued: Issued) -> Path | None:
    if config_path.suffix == ".toml":
        raise BadUserInput("inline certificates in TOML files are not rewritten", field="domain")
    config = load(config_path.suffix, config_path.read_bytes())
    entries = ((config or {}).get("tls") or {}).get("certificates") or []
    old = next((e for e in entries if _fingerprint(e) == cert.fingerprint_sha256), None)
    if old is None:
        raise BadUserInput("the certificate is no longer in its configuration file", field="domain")
    old["certFile"] = issued.fullchain_pem.decode()
    old["keyFile"] = issued.key_pem.decode()
    saved = backup(config_path)
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    atomic_write(config_path, text.encode(), mode=0o600)  # it now holds a private key
    return saved


def _fingerprint(entry: dict[str, object]) -> str | None:
    pem = str(entry.get("certFile", ""))
    if not pem.lstrip().startswith("-----BEGIN"):
        return None
    try:
        return describe(pem.encode(), origin=_NOWHERE).fingerprint_sha256
    except ValueError:
        return None
