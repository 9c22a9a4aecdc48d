# Sourced by the scripts that bring in Debian packages the project needs (services.sh, the
# Chromium for browser tests). Root only: a normal user is told what to install instead.
# Needs the caller's say() and fail_log() and APT_LOG set.

APT_UPDATED=""
apt_install() {
  say "installing $* (log: ${APT_LOG#"$ROOT"/})"
  if [[ -z $APT_UPDATED ]]; then
    apt-get -o DPkg::Lock::Timeout=600 update >>"$APT_LOG" 2>&1 || fail_log "apt-get update failed" "$APT_LOG"
    APT_UPDATED=1
  fi
  # Waits for a dpkg lock another apt-get holds instead of failing at once.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" >>"$APT_LOG" 2>&1 ||
    fail_log "apt-get install $* failed" "$APT_LOG"
}

# apt-get can install here: root on a Debian-like system.
can_apt() { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; }
