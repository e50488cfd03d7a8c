# Shared by the scripts: sourced, not run. Root or sudo for Debian packages, and the machine's
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), started when it is down.

if [ "$(id -u)" -eq 0 ]; then as_root=""; else as_root="sudo"; fi

# apt_install PACKAGE… — installs Debian packages, refreshing the package lists only if the
# first try fails.
apt_install() {
  $as_root apt-get install -y "$@" || { $as_root apt-get update && $as_root apt-get install -y "$@"; }
}

pg_admin=(psql -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)

# ensure_postgres — starts the local cluster when it does not answer; fails clearly if it
# still does not.
ensure_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "==> starting PostgreSQL"
    for version in $(ls /etc/postgresql 2>/dev/null); do
      $as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! "${pg_admin[@]}" -c 'SELECT 1' >/dev/null; then
    echo "error: PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth) does not answer even" >&2
    echo "after 'pg_ctlcluster --skip-systemctl-redirect VERSION main start' for each VERSION in" >&2
    echo "/etc/postgresql (found: $(ls /etc/postgresql 2>/dev/null | xargs || true))." >&2
    return 1
  fi
}
