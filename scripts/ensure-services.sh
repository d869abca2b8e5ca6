#!/usr/bin/env bash
# Make sure the platform's infrastructure is up: RabbitMQ always, PostgreSQL when asked.
# Starts what is installed and stopped; installs with apt when missing and running as root;
# otherwise says exactly what to do. Usage: ensure-services.sh [rabbitmq] [postgres]
set -euo pipefail
wanted=("${@:-rabbitmq}")

say() { printf 'ensure-services: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

wait_port() {
  local port=$1 name=$2
  for _ in $(seq 1 60); do port_open "$port" && return 0; sleep 1; done
  say "$name did not open port $port within 60 s; see its log (/var/log/$name)."; exit 1
}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    say "$1 is not installed. Install it (sudo apt-get install -y $1) or point the settings at a running one."; exit 1
  fi
  say "installing $1 with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

ensure_rabbitmq() {
  port_open 5672 && return 0
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  say "starting RabbitMQ"
  if [ "$(id -u)" = 0 ]; then rabbitmq-server -detached; else
    say "RabbitMQ is stopped. Start it (sudo rabbitmq-server -detached) and run again."; exit 1; fi
  wait_port 5672 rabbitmq
}

ensure_postgres() {
  port_open 5432 && return 0
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  say "starting PostgreSQL"
  if [ "$(id -u)" != 0 ]; then say "PostgreSQL is stopped. Start it and run again."; exit 1; fi
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port 5432 postgresql
}

for service in "${wanted[@]}"; do
  case "$service" in
    rabbitmq) ensure_rabbitmq ;;
    postgres) ensure_postgres ;;
    *) say "unknown service $service"; exit 2 ;;
  esac
done
