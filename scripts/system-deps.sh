#!/usr/bin/env bash
# Installs the Debian packages Kehu needs when running as root; otherwise says what to install.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)
[ -x /usr/sbin/nginx ] || need+=(nginx)  # the HTTPS reverse-proxy test (tests/e2e/test_deploy_e2e.py)
# PostgreSQL for the second test run (initdb, pg_ctl, pg_dump) and pg_trgm (contrib).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 ||
  need+=(postgresql)
ls /usr/share/postgresql/*/extension/pg_trgm.control >/dev/null 2>&1 || need+=(postgresql-contrib)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "Please install these Debian packages (as root): apt-get install ${need[*]}" >&2
  echo "Without them the browser tests, CJK PDF output and the PostgreSQL tests cannot work." >&2
fi
