"""Debian's Chromium driven by Playwright, trusting a local CA the way a user's browser does.

Playwright's own browser download cannot work here, so the system Chromium is launched by
path. Chromium on Linux takes extra root certificates from the user's NSS database
(`~/.pki/nssdb`), which is what `caddy trust` and `mkcert -install` write to: each browser
gets a fresh HOME whose database trusts the given CA certificates, and TLS verification
stays on (no `ignore_https_errors`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from .paths import REPO_ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-results/browser"

T = TypeVar("T")


def require_browser() -> None:
    """Skip, with the reason, where Chromium or certutil is missing, unless
    REQUIRE_BROWSER=1 (CI) says a missing browser is a failure."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if shutil.which("certutil") is None:
        missing.append("certutil (apt-get install libnss3-tools)")
    if not missing:
        return
    reason = "browser tests need " + " and ".join(missing)
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; REQUIRE_BROWSER=1 makes them required", pytrace=False)
    pytest.skip(reason)


def home_trusting(ca_certs: Sequence[Path]) -> Path:
    """A fresh HOME whose NSS database trusts `ca_certs` to identify TLS servers."""
    home = Path(tempfile.mkdtemp(prefix="chromium-home-"))
    db = f"sql:{home / '.pki/nssdb'}"
    (home / ".pki/nssdb").mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", db, "--empty-password"], check=True)
    for index, cert in enumerate(ca_certs):
        subprocess.run(
            ["certutil", "-A", "-d", db, "-n", f"local-ca-{index}", "-t", "C,,", "-i", str(cert)],
            check=True,
        )
    return home


@contextlib.contextmanager
def chromium(ca_certs: Sequence[Path] = ()) -> Iterator[Browser]:
    require_browser()
    home = home_trusting(ca_certs)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=ARGS,
                env={**os.environ, "HOME": str(home)},
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def screenshot_path(name: str) -> Path:
    """Where a screenshot goes: test-results/browser/ (git-ignored; CI keeps it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def collect_errors(page: Page) -> list[str]:
    """A list that fills with the page's console errors and uncaught exceptions (a
    Content-Security-Policy violation is reported as a console error)."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


# Records the last answer's text length at every DOM change, with whether the stream was
# still open then (aria-busy on the conversation). A MutationObserver callback runs once
# per batch of changes, so each record is a state of the page a reader could have seen.
RECORD_ANSWER_LENGTHS = """() => {
  window.answerLengths = [];
  const log = document.getElementById("messages");
  new MutationObserver(() => {
    const answers = log.querySelectorAll(".message.assistant .content");
    if (answers.length === 0) return;
    const length = answers[answers.length - 1].textContent.length;
    window.answerLengths.push([length, log.getAttribute("aria-busy") === "true"]);
  }).observe(log, { subtree: true, childList: true, characterData: true, attributes: true });
}"""
