#!/usr/bin/env bash
# Install Debian's headless Chromium for the browser tests where it is missing and we may.
# Where it cannot be installed the browser tests skip with this reason.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/lib/chromium/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "install_browser: could not install chromium; browser tests will skip"
else
  echo "install_browser: not root or no apt-get; browser tests will skip"
fi
exit 0
