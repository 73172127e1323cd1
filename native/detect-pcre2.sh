#!/bin/sh
# Prints "true" when libpcre2-8 can be built against, else "false".
# CATBOX_PCRE2=0 forces PCRE off; CATBOX_PCRE2=1 makes it mandatory.
# With --libs it prints the linker arguments instead: pkg-config's, or, when
# CATBOX_PCRE2_STATIC=1 (the prebuilt addon of the npm package, see
# package.json's prepack), the static archive, so that the addon needs no
# libpcre2 on the machine it is installed on.
if [ "$1" = "--libs" ]; then
  if [ "${CATBOX_PCRE2_STATIC:-0}" = "1" ]; then
    archive="$(pkg-config --variable=libdir libpcre2-8)/libpcre2-8.a"
    if [ ! -f "$archive" ]; then
      echo "catbox: CATBOX_PCRE2_STATIC=1 but $archive is missing; install libpcre2-dev" >&2
      exit 1
    fi
    echo "$archive"
  else
    pkg-config --libs libpcre2-8
  fi
  exit 0
fi
want="${CATBOX_PCRE2:-auto}"
if [ "$want" = "0" ]; then echo false; exit 0; fi
if pkg-config --exists libpcre2-8 2>/dev/null; then echo true; exit 0; fi
if [ "$want" = "1" ]; then
  echo "catbox: CATBOX_PCRE2=1 but libpcre2-8 was not found by pkg-config; install it (Debian/Ubuntu: apt-get install libpcre2-dev)" >&2
  exit 1
fi
echo "catbox: libpcre2-8 not found; building without PCRE rules (~REGEX). Install libpcre2-dev and rebuild to enable them." >&2
echo false
