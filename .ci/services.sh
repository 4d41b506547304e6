#!/usr/bin/env bash
# Install and start what the test suite talks to for real. Idempotent: fast when all
# is already there (a developer machine), complete on a bare one (CI).
set -euo pipefail

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v docker-registry >/dev/null || need_pkgs+=(docker-registry)
command -v crun >/dev/null || need_pkgs+=(crun)
command -v iptables >/dev/null || need_pkgs+=(iptables)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server openssh-client)
command -v ccache >/dev/null || need_pkgs+=(ccache)
command -v gcc >/dev/null || need_pkgs+=(gcc)  # Nuitka native builds
command -v patchelf >/dev/null || need_pkgs+=(patchelf)
command -v htpasswd >/dev/null || need_pkgs+=(apache2-utils)
command -v chromium >/dev/null || need_pkgs+=(chromium fonts-dejavu-core)  # console browser tests (Playwright)
# VS Code's JSON engine for tests/editors (its npm packages install on first use)
{ command -v node >/dev/null && command -v npm >/dev/null; } || need_pkgs+=(nodejs npm)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "--- apt-get install ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

echo "--- postgresql"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
# The suite's database (tests/support/databases.py); each test makes a schema in it.
if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
  echo "--- createdb test"
  createdb -h 127.0.0.1 -U postgres test
fi

echo "--- docker"
if ! docker info >/dev/null 2>&1; then
  nohup dockerd >/tmp/runtara-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi
docker info --format 'docker {{.ServerVersion}} ({{.CgroupVersion}})'
