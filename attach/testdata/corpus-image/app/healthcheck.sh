#!/bin/sh
# The image's HEALTHCHECK: the pid file names a live process, the socket
# answers, the web root is served.
set -e
test -d "/proc/$(cat /run/app.pid)"
test "$(nucleus-testhelper unix-dial /run/app.sock)" = pong
wget -q -O /dev/null "http://127.0.0.1:${APP_PORT}/index.html"
echo healthy
