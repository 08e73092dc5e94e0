#!/usr/bin/env bash
# What the container image (deploy/container/, tests/deploy/container.sh)
# needs before it can be built:
#   /etc/containers/containers.conf  podman settings this kind of machine needs
#   localhost/ggufd-base:bookworm     the Debian 12 base image, made here:
#       no image registry is reachable, so the base is bootstrapped from
#       Debian's packages with mmdebstrap and imported into podman. The
#       rootfs tarball is cached under the git-ignored tools/container/.
# The ggufd image itself is built by tests/deploy/container.sh, from the
# checked-out sources. Idempotent: every step skips what is already there.
set -euo pipefail
log() { printf '[setup 10-container] %s\n' "$*" >&2; }

base_image=${GGUFD_BASE_IMAGE:-localhost/ggufd-base:bookworm}
mirror=${GGUFD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${GGUFD_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# Bump when the bootstrap below changes: an image with another version is
# made again (its label ggufd.base-version says which one it is).
base_version=1
rootfs=tools/container/debian-bookworm-minbase-v$base_version.tar

# --- podman's settings --------------------------------------------------------
# On this machine kind the default nofile/nproc ulimits podman asks for are
# above the hard limits (every container fails to start), crun is absent and
# there is no systemd to manage cgroups. Each key is added only where the file
# does not set it already; a value someone chose is kept (with a warning).
conf=/etc/containers/containers.conf
settings=(
  'containers default_ulimits []'
  'engine runtime "runc"'
  'engine cgroup_manager "cgroupfs"'
)

# conf_get TABLE KEY: the value KEY has in [TABLE] of $conf, if set.
conf_get() {
  awk -v table="[$1]" -v key="$2" '
    { line = $0; sub(/#.*/, "", line) }
    line ~ /^[[:space:]]*\[/ { gsub(/[[:space:]]/, "", line); current = line; next }
    current == table && line ~ "^[[:space:]]*" key "[[:space:]]*=" {
      sub(/^[^=]*=[[:space:]]*/, "", line); sub(/[[:space:]]+$/, "", line)
      print line; exit
    }' "$conf"
}

# conf_add TABLE KEY VALUE: adds KEY under [TABLE] (after its header, or in
# a new table at the end), keeping everything else in the file as it was.
conf_add() {
  local tmp
  tmp=$(mktemp "$conf.XXXXXX")
  cp -p "$conf" "$tmp"  # keeps the file's mode and owner
  awk -v table="[$1]" -v entry="$2 = $3" '
    { print; line = $0; sub(/#.*/, "", line); gsub(/[[:space:]]/, "", line) }
    !done && line == table { print entry; done = 1 }
    END { if (!done) printf "\n%s\n%s\n", table, entry }' "$conf" > "$tmp"
  mv "$tmp" "$conf"
}

mkdir -p /etc/containers
if [[ ! -e $conf ]]; then
  log "writing $conf (it did not exist)"
  cat > "$conf" <<'EOF'
# Written by ggufd's deploy/setup.d/10-container.sh for podman on this machine
# kind: the default ulimits are above the machine's hard limits, crun is not
# installed and systemd does not manage cgroups here.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
else
  for setting in "${settings[@]}"; do
    read -r table key value <<<"$setting"
    current=$(conf_get "$table" "$key")
    if [[ -z $current ]]; then
      log "adding [$table] $key = $value to $conf"
      conf_add "$table" "$key" "$value"
    elif [[ $current != "$value" ]]; then
      log "warning: $conf keeps its [$table] $key = $current" \
        "(ggufd's container test expects $value)"
    fi
  done
fi

# --- the base image -----------------------------------------------------------
have_base() {
  [[ $(podman image inspect --format '{{index .Labels "ggufd.base-version"}}' \
       "$base_image" 2>/dev/null) == "$base_version" ]]
}

if have_base; then
  log "$base_image is there (base version $base_version)"
else
  if [[ ! -s $rootfs ]]; then
    log "bootstrapping Debian bookworm (mmdebstrap minbase) into $rootfs"
    mkdir -p "$(dirname "$rootfs")"
    # The merged-/usr hook makes the symlinks itself, so the usrmerge
    # package (and Perl with it) is not installed. Documentation, manual
    # pages and translations are left out of every package installed now
    # and later in images built on this base (the dpkg options stay in the
    # rootfs); copyright files stay.
    if ! mmdebstrap --variant=minbase --quiet \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --aptopt='APT::Install-Recommends "false"' \
      --aptopt='Acquire::Languages "none"' \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      bookworm "$rootfs.tmp.tar" \
      "deb $mirror bookworm main" \
      "deb $mirror bookworm-updates main" \
      "deb $security_mirror bookworm-security main" >"$rootfs.log" 2>&1; then
      cat "$rootfs.log" >&2
      log "mmdebstrap failed"
      exit 1
    fi
    mv "$rootfs.tmp.tar" "$rootfs"
  fi
  log "importing $rootfs as $base_image"
  podman import --quiet \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL ggufd.base-version=$base_version" \
    --message "Debian bookworm minbase (mmdebstrap), ggufd base v$base_version" \
    "$rootfs" "$base_image" >/dev/null
fi

# A container that cannot start is better found here than in the suite.
if ! podman run --rm --network host --read-only "$base_image" true; then
  log "warning: podman cannot run a container from $base_image here"
fi
