"""End to end: `cogov dashboard` on a free localhost port, opened in headless Chromium.

Checks that the map and every chart render, that pressing Step changes a chart, and that "save
as scenario" writes a file `cogov validate` accepts; leaves a screenshot in test-artifacts/.

Chromium is Debian's (`scripts/ci_install_browser.sh` installs it; `COGOV_CHROMIUM` may name
another binary), driven by the `playwright` Python package with `executable_path`: playwright's
own browser download cannot work on a closed network. The test skips, saying why, only where no
Chromium (or no playwright) can be found.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, cogov
from .test_dashboard import SMALL, write_scenario

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-quic", "--no-first-run",
                  "--disable-sync", "--disable-dev-shm-usage"]

# records, from before a click, whether the busy line appeared and whether Step, Play and
# Reset were disabled at the same moment (a short step would otherwise be missed)
BUSY_WATCH = """() => {
  window.cogovBusySeen = {busyText: false, disabledTogether: false, states: []};
  const look = () => {
    const s = window.cogovBusySeen;
    const dis = ['cogov-step', 'cogov-play', 'cogov-reset'].map(
      c => { const b = document.querySelector('button.' + c); return !!(b && b.disabled); });
    if (document.querySelector('.cogov-busy')) s.busyText = true;
    if (dis.every(x => x)) s.disabledTogether = true;
    if (s.states.length < 50) s.states.push(dis.join(','));
  };
  new MutationObserver(look).observe(document.body,
    {attributes: true, childList: true, subtree: true});
}"""

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def find_chromium() -> str | None:
    for cand in (os.environ.get("COGOV_CHROMIUM"), shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome"),
                 "/usr/bin/chromium"):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"cogov dashboard exited with {proc.returncode}:\n"
                                 f"{log.read_text(errors='replace')[-3000:]}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"cogov dashboard did not listen on {port} within {timeout:.0f} s:\n"
                         f"{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def server(tmp_path):
    pytest.importorskip("solara", reason="the dashboard needs the viz extra (solara)")
    scenario = write_scenario(tmp_path)
    port = free_port()
    log = tmp_path / "server.log"
    saves = tmp_path / "saved"
    args = [sys.executable, "-m", "sim", "dashboard", str(scenario), "--port", str(port),
            "--host", "127.0.0.1", "--save-dir", str(saves), *(f"--set={x}" for x in SMALL)]
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port, proc, log)
        # the command prints the address (after the resource estimate line, if any)
        assert f"http://127.0.0.1:{port}/" in log.read_text(errors="replace")
        yield f"http://127.0.0.1:{port}/", saves, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # this test's own process group
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def test_dashboard_in_headless_chromium(server):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found: install Debian's chromium (scripts/ci_install_browser.sh) "
                    "or set COGOV_CHROMIUM to a Chromium binary")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright Python package (test extra) is needed "
                                          "to drive Chromium")
    url, saves, log = server
    t0 = time.monotonic()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 2300})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            # the map and every chart arrive as decoded images
            page.wait_for_selector("img.cogov-map-image", timeout=60_000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('img.cogov-map-image, "
                "img.cogov-chart-image')].filter(i => i.complete && i.naturalWidth > 100)"
                ".length >= 6", timeout=30_000)
            assert page.locator(".cogov-chart").count() == 5
            for title in ("District map", "Complaints and repeats per day",
                          "Backlog per department", "Time to close", "Staff load",
                          "Police hours on non-police matters"):
                assert page.get_by_text(title, exact=True).count() >= 1, title
            assert "Day 0" in page.inner_text(".cogov-status")

            chart = "document.querySelector('.cogov-chart-complaints img.cogov-chart-image')"
            before = page.evaluate(f"{chart}.src")
            # Step: one day; while it computes the page is busy and Step, Play and Reset are
            # disabled (a MutationObserver records every state the buttons pass through, so a
            # short busy period is seen too); after it, the charts changed and all are enabled
            page.evaluate(BUSY_WATCH)
            page.get_by_role("button", name="Step", exact=True).click()
            page.wait_for_function(f"s => {chart}.src !== s && {chart}.complete", arg=before,
                                   timeout=30_000)
            page.wait_for_function("() => document.querySelector('.cogov-status')"
                                   ".innerText.startsWith('Day 1 ')", timeout=30_000)
            assert "Step 1 " in page.inner_text(".cogov-steps")
            page.wait_for_function("() => !document.querySelector('.cogov-busy')",
                                   timeout=30_000)
            seen = page.evaluate("() => window.cogovBusySeen")
            assert seen["busyText"], "no busy state was shown while the step computed"
            assert seen["disabledTogether"], ("Step, Play and Reset were not all disabled "
                                              f"while busy: {seen}")
            for cls in ("cogov-step", "cogov-reset", "cogov-play"):
                assert page.locator(f"button.{cls}").is_enabled(), f"{cls} stays disabled"
            # nine days per Step (the slider, by keyboard), then Step again: day 10
            page.locator(".cogov-run .v-slider__thumb-container").first.focus()
            for _ in range(8):
                page.keyboard.press("ArrowRight")
            page.wait_for_function("() => document.querySelector('.cogov-run')"
                                   ".innerText.includes('Days per Step: 9')", timeout=10_000)
            page.get_by_role("button", name="Step", exact=True).click()
            page.wait_for_function("() => document.querySelector('.cogov-status')"
                                   ".innerText.startsWith('Day 10 ')", timeout=30_000)
            page.wait_for_timeout(1500)  # let the last images arrive and paint
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            page.get_by_role("button", name="Save as scenario").click()
            page.wait_for_selector(".cogov-save-message", timeout=30_000)
        finally:
            browser.close()
    files = list(saves.glob("*.yaml"))
    assert len(files) == 1, log.read_text(errors="replace")[-2000:]
    proc = cogov("validate", files[0])
    assert proc.returncode == 0, proc.stderr
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
    assert time.monotonic() - t0 < 60, "the browser part should stay well under a minute"
