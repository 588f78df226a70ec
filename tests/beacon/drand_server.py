"""A drand-compatible HTTP beacon on loopback for tests: fixed chain info, real BLS
signatures (py_ecc, scheme pedersen-bls-unchained), rounds published when the test says.

Its chain is not one of the League of Entropy's, so verifiers reject its rounds ("chain not
trusted") unless a test names it explicitly: `TRUSTED` (Python) or `TRUST_SPEC` (the
`lottery verify --trust-chain` argument)."""

import functools
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from py_ecc.bls import G2Basic

from lottery.beacon_chains import TrustedChain

CHAIN = hashlib.sha256(b"lottery loopback test beacon").hexdigest()
SCHEME = "pedersen-bls-unchained"
SECRET_KEY = G2Basic.KeyGen(b"lottery-test-beacon-key-material!")
PUBLIC_KEY = G2Basic.SkToPk(SECRET_KEY).hex()
GENESIS = 1_700_000_000
PERIOD = 30
TRUSTED = TrustedChain(
    name="loopback test beacon",
    hash=CHAIN,
    public_key=PUBLIC_KEY,
    genesis_time=GENESIS,
    period=PERIOD,
    scheme=SCHEME,
)
TRUST_SPEC = f"{CHAIN}:{PUBLIC_KEY}:{GENESIS}:{PERIOD}:{SCHEME}"


OTHER_KEY = G2Basic.KeyGen(b"not-the-beacon-key-material-here!")


@functools.lru_cache(maxsize=64)
def signed_round(round_number: int, secret_key: int = SECRET_KEY) -> dict:
    message = hashlib.sha256(round_number.to_bytes(8, "big")).digest()
    signature = G2Basic.Sign(secret_key, message)
    return {
        "round": round_number,
        "signature": signature.hex(),
        "randomness": hashlib.sha256(signature).hexdigest(),
    }


class DrandServer:
    """Publishes every round <= `latest`. `down` answers 503; `tamper` breaks randomness;
    `forge` signs rounds with another key (randomness consistent). `chain` and `scheme` let it
    pose as another chain, with its own key."""

    def __init__(self, *, chain: str = CHAIN, scheme: str = SCHEME) -> None:
        self.chain = chain
        self.scheme = scheme
        self.latest = 0
        self.down = False
        self.tamper = False
        self.forge = False
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                status, body = server.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[int, dict]:
        if self.down:
            return 503, {"error": "down"}
        parts = path.strip("/").split("/")
        if parts[0] != self.chain:
            return 404, {"error": "unknown chain"}
        if parts[1:] == ["info"]:
            return 200, {
                "public_key": PUBLIC_KEY,
                "period": PERIOD,
                "genesis_time": GENESIS,
                "hash": self.chain,
                "groupHash": "00" * 32,
                "schemeID": self.scheme,
                "metadata": {"beaconID": "lottery-test"},
            }
        if len(parts) == 3 and parts[1] == "public" and parts[2].isdigit():
            round_number = int(parts[2])
            if round_number > self.latest:
                return 404, {"error": "round not yet available"}
            body = dict(signed_round(round_number, OTHER_KEY if self.forge else SECRET_KEY))
            if self.tamper:
                body["randomness"] = hashlib.sha256(b"forged").hexdigest()
            return 200, body
        return 404, {"error": "not found"}

    def publish_until(self, round_number: int) -> None:
        self.latest = round_number

    def start(self) -> "DrandServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
