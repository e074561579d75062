"""Print a new signing key for the count record: `python -m transparency.keygen`.

The first line is the private key (RECORD_SIGNING_KEY, keep it secret), the
second its public key (publish it; after a rotation, add it to
RECORD_RETIRED_PUBLIC_KEYS). Needs no Django.
"""

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

if __name__ == "__main__":
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    print(f"RECORD_SIGNING_KEY={base64.b64encode(private).decode()}")
    print(f"public key: {base64.b64encode(public).decode()}")
