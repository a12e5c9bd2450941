"""Mutation testing of the security-critical modules (``make mutate``; not part of ``make test``).

For each module below, mutmut changes one thing at a time (a comparison, a constant, a removed
call...) and runs that module's tests; a mutant that every test survives is a check no test pins.
Usage: ``python scripts/mutate.py [module-path ...]`` (default: every target). The survivors of each
module are listed at the end; ``.mutmut-cache`` keeps the results between runs.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent

#: module → the tests that exercise it (fast, no trained model needed)
TARGETS: Dict[str, Tuple[str, ...]] = {
    "bot/api/validation.py": ("tests/api/test_store_addresses.py",),
    "plugins/netguard.py": ("tests/plugins/test_netguard.py",),
    "bot/core/signing.py": ("tests/test_signing.py", "tests/security/test_odd_input.py"),
    "bot/gateway/tokens.py": ("tests/security/test_odd_input.py", "tests/security/test_resumed_history.py",
                              "tests/gateway/test_odd_tokens.py"),
    "plugins/shopify/oauth.py": ("tests/api/test_oauth_hardening.py", "tests/api/test_shopify_oauth.py",
                                 "tests/api/test_hmac_vectors.py"),
    "bot/api/install.py": ("tests/api/test_oauth_hardening.py", "tests/api/test_shopify_oauth.py",
                           "tests/api/test_wc_auth.py", "tests/api/test_install_flows.py"),
    "bot/services/install_state.py": ("tests/api/test_oauth_hardening.py", "tests/api/test_shopify_oauth.py",
                                      "tests/api/test_wc_auth.py", "tests/api/test_install_flows.py"),
    "bot/services/install_redirect.py": ("tests/api/test_oauth_hardening.py", "tests/api/test_shopify_oauth.py",
                                         "tests/api/test_install_flows.py"),
    "bot/services/authorization.py": ("tests/api/test_wc_auth.py", "tests/api/test_install_flows.py"),
    "bot/core/crypto.py": ("tests/test_crypto.py",),
    "bot/core/sealed.py": ("tests/test_sealed.py",),
    "bot/services/credentials.py": ("tests/test_crypto.py", "tests/api/test_secrets.py"),
    "bot/rasa/history_privacy.py": ("tests/security/test_resumed_history.py",),
    "bot/services/privacy.py": ("tests/api/test_privacy_erasure.py", "tests/security/test_retention.py"),
    "actions/attempts.py": ("tests/actions/test_attempts.py",),
    "actions/lookup.py": ("tests/actions/test_lookup_action.py",),
}


def run(module: str) -> List[str]:
    """Mutate ``module``; return the ids of surviving mutants."""
    tests = " ".join(TARGETS[module])
    runner = f"{sys.executable} -m pytest -x -q -p no:cacheprovider -p no:randomly {tests}"
    subprocess.run([sys.executable, "-m", "mutmut", "run", "--paths-to-mutate", module, "--runner", runner,
                    "--no-progress", "--simple-output"], cwd=ROOT, check=False)
    out = subprocess.run([sys.executable, "-m", "mutmut", "result-ids", "survived"], cwd=ROOT, check=False,
                         capture_output=True, text=True).stdout.split()
    return out


def main(argv: List[str]) -> int:
    modules = argv or list(TARGETS)
    unknown = [m for m in modules if m not in TARGETS]
    if unknown:
        print(f"unknown target(s): {', '.join(unknown)}; choose from: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    for module in modules:
        print(f"== {module}", flush=True)
        run(module)
    print("\nSurvivors (show one with: .venv/bin/python -m mutmut show <id>):", flush=True)
    subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=ROOT, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
