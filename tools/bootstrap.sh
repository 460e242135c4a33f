# Sourced by ./attnbench and tests/run: install what is missing (Debian packages by name),
# then configure build/ once. Everything it prints goes to stderr; logs go under build/.
#
#   attn_require CMD:PACKAGE ...     commands that must exist, and the Debian package of each
#   attn_require_pc NAME:PACKAGE     a pkg-config module, and its -dev package
#   attn_configure [meson options]   meson setup build/ (or reconfigure it with new options)

attn_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
attn_build="$attn_root/build"

# nvcc lives outside PATH in a default toolkit install.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

attn_missing=()

attn_require() {
  local spec
  for spec in "$@"; do
    command -v "${spec%%:*}" >/dev/null 2>&1 || attn_missing+=("${spec#*:}")
  done
}

attn_require_pc() {
  local spec
  for spec in "$@"; do
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "${spec%%:*}"; then
      attn_missing+=("${spec#*:}")
    fi
  done
}

# Install what attn_require* found missing: as root with apt-get, otherwise print the command.
attn_install() {
  [ ${#attn_missing[@]} -eq 0 ] && return 0
  local pkgs
  pkgs="$(printf '%s\n' "${attn_missing[@]}" | sort -u | tr '\n' ' ')"
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "attnbench: missing packages: $pkgs" >&2
    echo "attnbench: install them with:  sudo apt-get install -y $pkgs" >&2
    exit 1
  fi
  echo "attnbench: installing $pkgs(apt-get)" >&2
  mkdir -p "$attn_build"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs; } \
      >"$attn_build/.apt.log" 2>&1; then
    echo "attnbench: apt-get install failed; see $attn_build/.apt.log:" >&2
    tail -n 20 "$attn_build/.apt.log" >&2
    exit 1
  fi
  attn_missing=()
}

# meson setup build/ with the given -D options; reconfigure when they change.
attn_configure() {
  local stamp="$attn_build/.attn-options" want="$*"
  if [ -f "$attn_build/build.ninja" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  local mode=()
  [ -f "$attn_build/build.ninja" ] && mode=(--reconfigure)
  echo "attnbench: configuring build/ ($want)" >&2
  if ! meson setup "${mode[@]}" "$attn_build" "$attn_root" "$@" >"$attn_root/.meson-setup.log" 2>&1; then
    echo "attnbench: meson setup failed:" >&2
    tail -n 30 "$attn_root/.meson-setup.log" >&2
    exit 1
  fi
  mv -f "$attn_root/.meson-setup.log" "$attn_build/.meson-setup.log"
  echo "$want" >"$stamp"
}

# Build targets quietly; show the compiler's output only when it fails.
attn_build_targets() {
  if ! ninja -C "$attn_build" "$@" >"$attn_build/.ninja.log" 2>&1; then
    echo "attnbench: build failed:" >&2
    grep -E 'error|FAILED' -A3 "$attn_build/.ninja.log" | head -n 60 >&2
    exit 1
  fi
}
