#!/usr/bin/env bash
# The Debian packages optagent builds and tests with.
#   --ensure  install the missing ones (as root or with password-less sudo;
#             otherwise print the apt-get line): `make test`, `make run` and
#             `make deps` use it, so a fresh Debian machine gets from clone to
#             a green `make test` with no other step
#   --check   name the missing ones; fail when one the build needs is missing
#             (the test-only ones, marked "test" below, are only named): what
#             plain `make` does, since a build alone never installs anything
#   --list    print the missing ones (or that none is)
set -u
mode=${1:---ensure}

# package : file that proves it is installed
checks=(
  "libglpk-dev:/usr/include/glpk.h"
  "libcjson-dev:/usr/include/cjson/cJSON.h"
  "libsqlite3-dev:/usr/include/sqlite3.h"
  "libcurl4-openssl-dev:/usr/include/x86_64-linux-gnu/curl/curl.h|/usr/include/curl/curl.h"
  "libcmocka-dev:/usr/include/cmocka.h:test"
  "libedit-dev:/usr/include/histedit.h"
  "libmicrohttpd-dev:/usr/include/microhttpd.h"
  "coinor-libipopt-dev:/usr/include/coin/IpStdCInterface.h"
  "glpk-utils:/usr/bin/glpsol:test"
  "tmux:/usr/bin/tmux:test"
)

missing=()
build_missing=()
for entry in "${checks[@]}"; do
  pkg=${entry%%:*}; files=${entry#*:}; found=0; for_tests=0
  case $files in *:test) files=${files%:test}; for_tests=1 ;; esac
  IFS='|' read -ra alts <<<"$files"
  for f in "${alts[@]}"; do [ -e "$f" ] && found=1; done
  [ $found = 1 ] || missing+=("$pkg")
  [ $found = 1 ] || [ $for_tests = 1 ] || build_missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  [ "$mode" = --list ] && echo "deps: all packages present"
  exit 0
fi
[ "$mode" = --list ] && { echo "${missing[*]}"; exit 0; }
if [ "$mode" = --check ]; then
  if [ ${#build_missing[@]} -eq 0 ]; then
    echo "deps: the tests will also need: ${missing[*]} ('make test' installs them)" >&2
    exit 0
  fi
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: 'make deps' (or 'make test' / 'make run') installs them, or run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "deps: installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "deps: cannot install (not root, no passwordless sudo). Run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq "${missing[@]}" >&2; then
  $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq "${missing[@]}" >&2 || {
    echo "deps: apt-get failed; install these by hand: ${missing[*]}" >&2; exit 1; }
fi
echo "deps: installed ${missing[*]}" >&2
