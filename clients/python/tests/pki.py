"""Certificates made at test time with the openssl CLI: a CA, server
certificates for localhost/127.0.0.1 and client certificates carrying a
SPIFFE URI (what ggufd's `cert:` auth-file lines name)."""

from __future__ import annotations

import pathlib
import subprocess


def _openssl(*args: str) -> None:
    run = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{run.stderr}")


class Pki:
    """A CA (P-256, valid two days) in `folder`, issuing certificates into it.

    Each issued certificate is `<name>.pem` with its key `<name>.key`."""

    def __init__(self, folder: pathlib.Path, name: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.ca = folder / "ca.pem"
        self._ca_key = folder / "ca.key"
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={name}-ca",
            "-keyout", str(self._ca_key), "-out", str(self.ca),
        )

    def cert(self, name: str) -> pathlib.Path:
        return self.folder / f"{name}.pem"

    def key(self, name: str) -> pathlib.Path:
        return self.folder / f"{name}.key"

    def _issue(self, name: str, subject: str, extensions: str) -> None:
        ext = self.folder / f"{name}.ext"
        csr = self.folder / f"{name}.csr"
        ext.write_text(extensions)
        _openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", subject, "-keyout", str(self.key(name)), "-out", str(csr),
        )
        _openssl(
            "x509", "-req", "-days", "2", "-in", str(csr),
            "-CA", str(self.ca), "-CAkey", str(self._ca_key),
            "-CAcreateserial", "-CAserial", str(self.folder / "ca.srl"),
            "-extfile", str(ext), "-out", str(self.cert(name)),
        )

    def issue_server(self, name: str, common_name: str) -> None:
        """A server certificate valid for localhost and 127.0.0.1."""
        self._issue(
            name,
            f"/CN={common_name}",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )

    def issue_client(self, name: str, uri: str) -> None:
        """A client certificate whose identity (URI SAN) is `uri`."""
        self._issue(name, f"/CN={name}", f"subjectAltName=URI:{uri}\nextendedKeyUsage=clientAuth\n")
