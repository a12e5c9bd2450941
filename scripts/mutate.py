"""Mutation testing of the security-critical modules (``make mutate``; not part of ``make test``).

For each module below, mutmut changes one thing at a time (a comparison, a constant, a removed
call...) and runs that module's tests; a mutant that every test survives is a check no test pins.
Usage: ``python scripts/mutate.py [module-path[:lines] ...]`` (default: every target, whole files).
``lines`` limits the mutants to line ranges of the module, e.g.
``bot/api/validation.py:154-203`` or ``actions/lookup.py:270-283,302-306`` (mutmut's patch-file
mode: the ranges are written as a patch that "adds" those lines). The survivors of each module are
listed at the end; ``.mutmut-cache`` keeps the results between runs.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent

#: module → the tests that exercise it (fast, no trained model needed)
TARGETS: Dict[str, Tuple[str, ...]] = {
    "bot/services/validation.py": ("tests/api/test_store_addresses.py",),
    "plugins/netguard.py": ("tests/plugins/test_netguard.py",),
    "bot/core/signing.py": ("tests/test_signing.py", "tests/security/test_odd_input.py"),
    "bot/gateway/tokens.py": ("tests/gateway/test_session_tokens.py", "tests/security/test_odd_input.py", "tests/security/test_resumed_history.py",
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
    "plugins/shopify/webhooks.py": ("tests/plugins/test_shopify_webhook_signature.py", "tests/api/test_oauth_hardening.py"),
    "bot/core/crypto.py": ("tests/test_crypto.py",),
    "bot/core/sealed.py": ("tests/test_sealed.py",),
    "bot/services/credentials.py": ("tests/test_crypto.py", "tests/api/test_secrets.py"),
    "bot/rasa/history_privacy.py": ("tests/security/test_resumed_history.py",),
    "bot/services/privacy.py": ("tests/api/test_privacy_erasure.py", "tests/security/test_retention.py"),
    "actions/attempts.py": ("tests/actions/test_attempts.py",),
    "actions/lookup.py": ("tests/actions/test_lookup_action.py",),
}


def parse_target(arg: str) -> Tuple[str, Optional[List[Tuple[int, int]]]]:
    """``module[:a-b,c-d,e]`` → (module, [(a, b), (c, d), (e, e)]), or (module, None) for the whole file."""
    module, _, lines = arg.partition(":")
    if not lines:
        return module, None
    ranges = []
    for part in lines.split(","):
        first, _, last = part.partition("-")
        start, end = int(first), int(last or first)
        if start < 1 or end < start:
            raise ValueError(f"bad line range {part!r}")
        ranges.append((start, end))
    return module, ranges


def line_patch(module: str, ranges: Sequence[Tuple[int, int]]) -> str:
    """A unified diff in which ``ranges`` of ``module`` are added lines (what mutmut's
    ``--use-patch-file`` mutates)."""
    source = (ROOT / module).read_text(encoding="utf-8").splitlines()
    out = [f"--- {module}", f"+++ {module}"]
    for start, end in ranges:
        end = min(end, len(source))
        out.append(f"@@ -0,0 +{start},{end - start + 1} @@")
        out.extend("+" + line for line in source[start - 1:end])
    return "\n".join(out) + "\n"


def run_tests(tests: Sequence[str]) -> int:
    """The runner mutmut calls: pytest on ``tests``, exit status 1 on any failure. mutmut 2 counts only
    status 1 as a failing run, so a mutant that breaks the import of a module (pytest's status 2,
    a collection error) would otherwise be reported as surviving."""
    status = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                             *tests], cwd=ROOT, check=False).returncode
    return 0 if status == 0 else 1


def run(module: str, ranges: Optional[Sequence[Tuple[int, int]]] = None) -> None:
    """Mutate ``module`` (only ``ranges`` of it when given) against its tests."""
    tests = " ".join(TARGETS[module])
    runner = f"{sys.executable} {Path(__file__).resolve()} --run-tests {tests}"
    command = [sys.executable, "-m", "mutmut", "run", "--paths-to-mutate", module, "--runner", runner,
               "--no-progress", "--simple-output"]
    with tempfile.NamedTemporaryFile("w", suffix=".patch", delete=False) as patch:
        if ranges:
            patch.write(line_patch(module, ranges))
            command += ["--use-patch-file", patch.name]
    try:
        subprocess.run(command, cwd=ROOT, check=False)
    finally:
        Path(patch.name).unlink()


def main(argv: List[str]) -> int:
    if argv[:1] == ["--run-tests"]:
        return run_tests(argv[1:])
    targets = [parse_target(a) for a in argv] or [(m, None) for m in TARGETS]
    unknown = [m for m, _ in targets if m not in TARGETS]
    if unknown:
        print(f"unknown target(s): {', '.join(unknown)}; choose from: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    for module, ranges in targets:
        print(f"== {module}" + (f" lines {ranges}" if ranges else ""), flush=True)
        run(module, ranges)
    print("\nSurvivors (show one with: .venv/bin/python -m mutmut show <id>):", flush=True)
    subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=ROOT, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
