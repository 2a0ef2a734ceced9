#!/usr/bin/env bash
# A real single-node Slurm (Debian's slurmctld, slurmd, slurmdbd with MariaDB, munge) on this machine,
# for the end-to-end test of the Slurm profile. Needs root and Debian's packages:
#   apt-get install slurmctld slurmd slurm-client munge slurmdbd mariadb-server
#
#   tests/slurm/cluster.sh start STATE_DIR   # start every daemon, record its PID in STATE_DIR/pids/
#   tests/slurm/cluster.sh stop STATE_DIR    # stop exactly those PIDs
#
# Writes /etc/slurm/slurm.conf and /etc/slurm/slurmdbd.conf (the daemons and clients read them there).
# Facts that shaped it (Slurm 22.05): without slurmdbd the executor plugin's sacct polls fail forever;
# the node is "localhost" (slurmd -N localhost) with RealMemory below what slurmd -C reports; no systemd,
# so munge's /run/munge is made by hand; slurmdbd.conf must be mode 0600; proctrack/linuxproc and
# task/none avoid cgroups.
set -euo pipefail

cmd=${1:?usage: cluster.sh start|stop STATE_DIR}
state=$(realpath -m "${2:?usage: cluster.sh start|stop STATE_DIR}")
pids="$state/pids"

log() { printf '[slurm-ci] %s\n' "$*" >&2; }

start_daemon() { # name, command...: run in the foreground in the background, record its PID
  local name=$1
  shift
  "$@" >"$state/log/$name.out" 2>&1 &
  echo $! >"$pids/$name"
  log "started $name (pid $!)"
}

wait_for() { # seconds, description, command...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 2))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "timed out waiting for $what"
  return 1
}

stop() {
  [ -d "$pids" ] || return 0
  for name in slurmd slurmctld slurmdbd mariadb munged; do
    [ -f "$pids/$name" ] || continue
    pid=$(cat "$pids/$name")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
      log "stopped $name (pid $pid)"
    fi
    rm -f "$pids/$name"
  done
}

start() {
  [ "$(id -u)" = 0 ] || { log "needs root"; exit 2; }
  for bin in slurmctld slurmd slurmdbd munged mariadbd sacctmgr sinfo; do
    command -v "$bin" >/dev/null || { log "$bin not found: apt-get install slurmctld slurmd slurm-client munge slurmdbd mariadb-server"; exit 2; }
  done
  mkdir -p "$pids" "$state/log" "$state/spool/ctld" "$state/spool/d" "$state/run"
  chmod 0755 "$state"  # munge and mysql must reach their folders inside it (so must every parent folder)
  trap 'log "start failed; stopping what was started"; stop' ERR

  # munge: no systemd here, so its run folder is made by hand
  install -d -o munge -g munge -m 0755 /run/munge
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key; }
  install -d -o munge -g munge -m 0755 "$state/munge"
  start_daemon munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground \
    --pid-file=/run/munge/munged.pid --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed"
  wait_for 20 munge munge -n

  # MariaDB for slurmdbd: socket only, data in our state folder
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  mkdir -p "$state/mysql"
  chown mysql:mysql "$state/mysql"
  mariadb-install-db --user=mysql --datadir="$state/mysql" --auth-root-authentication-method=socket >"$state/log/mariadb-install.log" 2>&1
  start_daemon mariadb setpriv --reuid=mysql --regid=mysql --init-groups /usr/sbin/mariadbd --datadir="$state/mysql" \
    --socket=/run/mysqld/mysqld.sock --skip-networking --pid-file="$state/mysql/mariadb.pid" --log-error="$state/mysql/error.log"
  wait_for 60 mariadb mariadb --socket=/run/mysqld/mysqld.sock -e "select 1"
  mariadb --socket=/run/mysqld/mysqld.sock -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm-ci';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"

  memory=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  memory=$((memory * 9 / 10))
  cpus=$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p')
  mkdir -p /etc/slurm
  cat >/etc/slurm/slurm.conf <<EOF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
NodeName=localhost CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  cat >/etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
LogFile=$state/log/slurmdbd.log
PidFile=$state/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm-ci
StorageLoc=slurm_acct_db
EOF
  chmod 0600 /etc/slurm/slurmdbd.conf

  start_daemon slurmdbd /usr/sbin/slurmdbd -D
  wait_for 60 slurmdbd sacctmgr -n list cluster
  sacctmgr -i add cluster ci >/dev/null 2>&1 || true
  start_daemon slurmctld /usr/sbin/slurmctld -D -i
  wait_for 60 slurmctld scontrol ping
  start_daemon slurmd /usr/sbin/slurmd -D -N localhost
  wait_for 90 "node idle" sh -c 'sinfo -h -N -o "%t" | grep -q idle'
  trap - ERR
  log "Slurm is up: $(sinfo -h -N -o '%N %t %c CPUs %m MB')"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) echo "usage: cluster.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
