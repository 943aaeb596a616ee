#!/bin/sh
# PID 1 of the image: the application (a UNIX socket server and a web
# server) and its pid file, as popular images lay them out.
echo $$ > /run/app.pid
nucleus-testhelper unix-serve /run/app.sock &
httpd -f -p "127.0.0.1:${APP_PORT}" -h /srv/www &
exec sleep infinity
