#!/usr/bin/env bash
# Debian packages the test suite needs beyond Python (installed only when missing;
# needs root and apt-get, as on CI and the dev machines).
set -euo pipefail
PKGS=(
  docker-compose      # `docker-compose config -q` validates the compose file offline
  openssh-server      # sshd in the deploy lab's network namespaces
  openssh-client
  iproute2            # ip netns for the deploy lab
  wrk                 # HTTP load driver of bench/
)
missing=()
for pkg in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "system-deps: missing ${missing[*]} (install them as root)" >&2
  fi
fi
