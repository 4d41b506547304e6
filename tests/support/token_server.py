"""A Bearer token server for Distribution's ``auth: token`` mode, signing JWTs with a test CA.

The registry trusts tokens whose ``x5c`` certificate chains to ``rootcertbundle``; the
server grants every requested action to the one known user, and refuses anyone else.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SERVICE = "runtara-test-registry"
ISSUER = "runtara-test-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    def __init__(self, username: str, password: str) -> None:
        self.ca = trustme.CA(key_type=trustme.KeyType.RSA)
        leaf = self.ca.issue_cert("token-signer", key_type=trustme.KeyType.RSA)
        self._key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
        assert isinstance(self._key, rsa.RSAPrivateKey)
        certificate = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
        self._x5c = [
            base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
        ]
        self.username, self.password = username, password
        self.requests: list[list[str]] = []

    def root_bundle_pem(self) -> bytes:
        return self.ca.cert_pem.bytes()

    def handle(self, request: Request) -> Response:
        scopes = request.args.getlist("scope")
        self.requests.append(scopes)
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.username, self.password):
            return Response(json.dumps({"details": "bad credentials"}), status=401)
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": self.username,
            "aud": request.args.get("service", ""),
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now - 10,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        header = {"typ": "JWT", "alg": "RS256", "x5c": self._x5c}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
        token = f"{signing_input}.{_b64(signature)}"
        return Response(
            json.dumps({"token": token, "expires_in": 300}), content_type="application/json"
        )


@contextmanager
def token_server(username: str, password: str) -> Iterator[tuple[str, TokenIssuer]]:
    """Yield (realm URL, issuer) of a running token server."""
    issuer = TokenIssuer(username, password)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/token").respond_with_handler(issuer.handle)
    server.start()
    try:
        yield server.url_for("/token"), issuer
    finally:
        server.clear()
        if server.is_running():
            server.stop()
