"""The WhatsApp client's side of Flows data exchange, written from Meta's documentation
("Implementing endpoints for Flows") with Python's `cryptography` package: an
implementation independent of ours, for tests/flows.rs.

  flows_client.py request PRIVATE_KEY_PEM < request.json
      encrypt a request as WhatsApp does (a fresh AES-128 key and 16-byte IV; the key
      under the business's public key with RSA-OAEP SHA-256); prints
      {"body": {...the POST body...}, "aes_key": b64, "iv": b64}
  flows_client.py response AES_KEY_B64 IV_B64 < response.b64
      decrypt the endpoint's answer (AES-128-GCM, IV with every bit flipped); prints it
"""
import json
import os
import sys
from base64 import b64decode, b64encode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def request(private_key_pem):
    with open(private_key_pem, "rb") as f:
        public = serialization.load_pem_private_key(f.read(), password=None).public_key()
    plaintext = sys.stdin.buffer.read()
    aes_key = os.urandom(16)
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(aes_key), modes.GCM(iv)).encryptor()
    data = encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag
    encrypted_key = public.encrypt(
        aes_key, OAEP(mgf=MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )
    body = {
        "encrypted_flow_data": b64encode(data).decode(),
        "encrypted_aes_key": b64encode(encrypted_key).decode(),
        "initial_vector": b64encode(iv).decode(),
    }
    print(json.dumps({"body": body, "aes_key": b64encode(aes_key).decode(), "iv": b64encode(iv).decode()}))


def response(aes_key_b64, iv_b64):
    aes_key = b64decode(aes_key_b64)
    flipped = bytes(b ^ 0xFF for b in b64decode(iv_b64))
    sealed = b64decode(sys.stdin.read().strip())
    decryptor = Cipher(algorithms.AES(aes_key), modes.GCM(flipped, sealed[-16:])).decryptor()
    sys.stdout.write((decryptor.update(sealed[:-16]) + decryptor.finalize()).decode())


if __name__ == "__main__":
    if sys.argv[1] == "request":
        request(sys.argv[2])
    else:
        response(sys.argv[2], sys.argv[3])
