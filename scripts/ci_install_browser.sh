#!/usr/bin/env bash
# Install a browser for the dashboard's end-to-end test (tests/test_dashboard_e2e.py):
# Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver), driven by
# the `playwright` Python package with executable_path=/usr/bin/chromium (playwright's own
# browser download cannot work on a closed network).
#
# Installs only where apt-get exists and we are root; otherwise, or if the install fails, it
# says so and exits 0: the e2e test then skips with the reason. Safe to run again.
set -u

say() { echo "ci_install_browser: $*"; }

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  say "chromium already installed ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "no apt-get on this machine: not installing chromium (the browser test will skip)"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  say "not root: not installing chromium (run as root, or install Debian's chromium and"
  say "chromium-driver yourself; the browser test will skip)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
  say "apt-get update failed; trying the install with the package lists at hand"
fi
if apt-get install -y -qq chromium chromium-driver >/dev/null; then
  say "installed $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
else
  say "apt-get install chromium chromium-driver failed: the browser test will skip"
fi
exit 0
