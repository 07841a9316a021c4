"""Credentials bench: Upskill's eddsa-rdfc-2022 sign and verify against the JS reference verifier.

1. Builds a representative certification (OB 3.0 OpenBadgeCredential: 8 skill alignments,
   two result descriptions and results, 3 evidence links, revocation and suspension status
   entries; about 4 KB signed) with a did:key issuer, and the two status list credentials
   (131,072 entries each, one bit set), all signed by Upskill.
2. Times, in this process, one after the other (never concurrently: the machine has 2 CPUs):
   - Upskill sign (``proofs.sign``: pyld expansion, RDFC-1.0 in pyoxigraph, Ed25519),
   - Upskill verify (``proofs.verify``, with did:key resolution and the validity dates),
   - Upskill verify + status (also ``status_list.credential_status``: verifies both lists,
     inflates them and reads the bits, as a verify page does without a cache).
3. In the same run, the reference: ``tools/vc-js/bench.mjs`` verifies the *same* signed
   credential in one Node process with @digitalbazaar/vc 7 and the eddsa-rdfc-2022
   cryptosuite (offline document loader, contexts from the npm packages), timing inside
   Node, without and with the status check; and signs the same unsigned credential.
   Every verification, on both sides, must succeed or the bench exits 1.
4. Prints per-second rates, median and p95 per operation, and the ratios Upskill / reference
   (above 1: Upskill is faster). Issue 7's target: Upskill verify at least as fast as the
   reference's (ratio >= 1).

Run: ``.venv/bin/python -m bench.credentials [--seconds 3]`` (writes ``var/bench/credentials.json``;
needs ``make vc-js``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from upskill.credentials import did, openbadges, proofs, status_list

BASE_DIR = Path(__file__).resolve().parent.parent
VC_JS = BASE_DIR / "tools" / "vc-js"
RESULT_PATH = BASE_DIR / "var" / "bench" / "credentials.json"
ISSUED_AT = datetime(2026, 1, 15, 10, tzinfo=UTC)
NOW = ISSUED_AT + timedelta(days=30)
LISTS = {
    "revocation": "https://upskill.example/credentials/status/revocation/1",
    "suspension": "https://upskill.example/credentials/status/suspension/1",
}


def representative_credential(issuer_id: str) -> dict[str, Any]:
    skills = ["Frame a business problem as an ML task", "Prepare and validate data",
              "Train and tune models", "Evaluate models honestly", "Explain model decisions",
              "Deploy and monitor models", "Manage data privacy", "Communicate results"]
    return openbadges.achievement_credential(
        credential_id="urn:uuid:0b8f6f0e-3c2a-4d8e-9a51-7f0c2d1e0001",
        issuer=openbadges.Issuer(issuer_id, "Upskill Academy", "https://upskill.example"),
        valid_from=ISSUED_AT,
        valid_until=ISSUED_AT + timedelta(days=730),
        subject_id="did:example:learner-0001",
        achievement_id="https://upskill.example/programs/ml-engineer",
        achievement_name="Machine Learning Engineer — Certification",
        achievement_description="Certifies the skills of a junior machine learning engineer.",
        criteria_narrative="Pass the proctored certification exam at or above the cut score.",
        achievement_version="2026.1.0",
        alignments=[
            openbadges.Alignment(name, f"https://upskill.example/skills/{i}", "ESCO",
                                 "ceasn:Competency", f"S{i}")
            for i, name in enumerate(skills)
        ],
        result_descriptions=[
            openbadges.ResultDescription("urn:upskill:result:outcome", "Outcome", "Status"),
            openbadges.ResultDescription("urn:upskill:result:band", "Score band",
                                         "PerformanceLevel", ("Pass", "Merit", "Distinction")),
        ],
        results=[openbadges.Result("urn:upskill:result:outcome", status="Completed"),
                 openbadges.Result("urn:upskill:result:band", value="Merit")],
        evidence=[openbadges.Evidence(f"https://upskill.example/projects/{n}/42", f"Project {n}",
                                      "Graded by the trusted grader.", "Project")
                  for n in ("fraud-model", "churn-forecast", "support-triage")],
        revocation=openbadges.StatusListPosition(LISTS["revocation"], 1234),
        suspension=openbadges.StatusListPosition(LISTS["suspension"], 1234),
    )


def measure(operation: Callable[[], object], seconds: float, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        operation()
    times: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        operation()
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    times.sort()
    return {"count": len(times), "per_s": len(times) / total,
            "median_ms": statistics.median(times) * 1000,
            "p95_ms": times[int(len(times) * 0.95)] * 1000}


def jwk_of(key: Ed25519PrivateKey) -> dict[str, str]:
    import base64

    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return {"kty": "OKP", "crv": "Ed25519",
            "x": b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
            "d": b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed run per operation")
    parser.add_argument("--warmup", type=int, default=20, help="untimed runs first")
    args = parser.parse_args(argv)
    if not 0.2 <= args.seconds <= 60:
        parser.error("--seconds must be within 0.2..60")
    if shutil.which("node") is None or not (VC_JS / "node_modules").is_dir():
        print("the reference needs node and tools/vc-js/node_modules: run `make vc-js`")
        return 2

    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    issuer_id = did.did_key_of(key.public_key())
    method = did.did_key_verification_method(key.public_key())
    unsigned = representative_credential(issuer_id)
    credential = proofs.sign(unsigned, key, method, ISSUED_AT)
    lists = {}
    for purpose, url in LISTS.items():
        bits = status_list.new_bitstring()
        status_list.set_bit(bits, 99, True)
        lists[url] = proofs.sign(status_list.status_list_credential(
            list_url=url, issuer=issuer_id, status_purpose=purpose,
            encoded_list=status_list.encode(bits), valid_from=ISSUED_AT), key, method, ISSUED_AT)
    resolve = did.key_resolver()

    def verify() -> None:
        if not proofs.verify(credential, resolve, now=NOW).verified:
            raise SystemExit("Upskill did not verify its own credential")

    def verify_with_status() -> None:
        verify()
        status = status_list.credential_status(credential, lists, resolve, now=NOW)
        if not status.checked or status.revoked or status.suspended:
            raise SystemExit(f"unexpected status {status}")

    print(f"credential: {len(json.dumps(credential).encode())} bytes signed; "
          f"{os.cpu_count()} CPUs; {args.seconds:g} s per operation after {args.warmup} warm-ups")
    ours = {
        "sign": measure(lambda: proofs.sign(unsigned, key, method, ISSUED_AT),
                        args.seconds, args.warmup),
        "verify": measure(verify, args.seconds, args.warmup),
        "verify_with_status": measure(verify_with_status, args.seconds, args.warmup),
    }
    request = {"credential": credential, "statusLists": list(lists.values()),
               "now": proofs.format_xsd_datetime(NOW), "jwk": jwk_of(key), "unsigned": unsigned,
               "seconds": args.seconds, "warmup": args.warmup}
    completed = subprocess.run(["node", str(VC_JS / "bench.mjs")], input=json.dumps(request),
                               capture_output=True, text=True, timeout=300, check=False)
    if completed.returncode != 0:
        print(completed.stderr, file=sys.stderr)
        return 1
    theirs = json.loads(completed.stdout)

    print(f"{'operation':<20}{'Upskill/s':>11}{'med ms':>8}{'p95 ms':>8}"
          f"{'reference/s':>13}{'med ms':>8}{'p95 ms':>8}{'ratio':>8}")
    ratios = {}
    for name in ("sign", "verify", "verify_with_status"):
        mine, ref = ours[name], theirs[name]
        ratios[name] = mine["per_s"] / ref["per_s"]
        print(f"{name:<20}{mine['per_s']:>11.1f}{mine['median_ms']:>8.2f}{mine['p95_ms']:>8.2f}"
              f"{ref['per_s']:>13.1f}{ref['median_ms']:>8.2f}{ref['p95_ms']:>8.2f}"
              f"{ratios[name]:>8.2f}")
    target_met = ratios["verify"] >= 1.0
    print(f"ratio Upskill verify/s / reference verify/s: {ratios['verify']:.2f} "
          f"(target >= 1: {'met' if target_met else 'NOT met'})")
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps({"upskill": ours, "reference": theirs, "ratios": ratios,
                                       "target_met": target_met}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
