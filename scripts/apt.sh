# Sourced by the ensure-*.sh scripts: install a Debian package as root, or through sudo when not root.
# apt_root: set $SUDO ("" as root, "sudo" otherwise); fails when neither apt-get nor a way to root exists,
# leaving the message (an error or a warning, what to do instead) to the caller.
apt_root() {
  command -v apt-get >/dev/null 2>&1 || { APT_MISSING="no apt-get on this machine"; return 1; }
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { APT_MISSING="installing needs root (or sudo)"; return 1; }
    SUDO="sudo"
  fi
}

# apt_install PACKAGE: refresh the package lists and install PACKAGE without recommended extras.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "$1"
}
