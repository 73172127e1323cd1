#!/bin/sh
# Prints "true" when libpcre2-8 can be built against, else "false".
# CATBOX_PCRE2=0 forces PCRE off; CATBOX_PCRE2=1 makes it mandatory.
want="${CATBOX_PCRE2:-auto}"
if [ "$want" = "0" ]; then echo false; exit 0; fi
if pkg-config --exists libpcre2-8 2>/dev/null; then echo true; exit 0; fi
if [ "$want" = "1" ]; then
  echo "catbox: CATBOX_PCRE2=1 but libpcre2-8 was not found by pkg-config; install it (Debian/Ubuntu: apt-get install libpcre2-dev)" >&2
  exit 1
fi
echo "catbox: libpcre2-8 not found; building without PCRE rules (~REGEX). Install libpcre2-dev and rebuild to enable them." >&2
echo false
