#!/bin/sh
echo "app $APP_ENV on port $APP_PORT"
