#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying `sftlab submit slurm` and for the
# end-to-end test (make slurm-test). Needs root and Debian's slurm-wlm and munge packages;
# works without systemd (containers, CI).
#
#   scripts/slurm-local.sh install   # apt-get install slurm-wlm munge
#   scripts/slurm-local.sh start     # write /etc/slurm/slurm.conf, start munged, slurmctld, slurmd
#   scripts/slurm-local.sh status    # sinfo
#   scripts/slurm-local.sh stop      # stop the three daemons
#
# The node is this machine as `slurmd -C` describes it, in one partition named "local";
# SlurmUser is root, processes are tracked by /proc (proctrack/linuxproc) and not confined
# (task/none), and munged runs as the munge user. An existing slurm.conf that this script did not
# write is left alone: start refuses to overwrite it.
set -euo pipefail
# The daemons (slurmctld, slurmd, munged) live in /usr/sbin, which a non-login shell's PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

CONF=/etc/slurm/slurm.conf
MARK="# Written by sftlab scripts/slurm-local.sh"
LOGDIR=/var/log/slurm

die() { echo "slurm-local: $*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "must run as root (it writes /etc/slurm and starts daemons)"
}

# alive PIDFILE: whether the process of a pid file is running.
alive() {
	[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

cmd_install() {
	need_root
	if command -v slurmctld >/dev/null && command -v munged >/dev/null; then
		echo "slurm-local: slurm-wlm and munge are installed"
		return
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Another apt run may hold the lock for a few minutes.
	for try in 1 2 3 4 5 6 7 8 9 10; do
		if apt-get update -qq && apt-get install -y -qq slurm-wlm munge; then
			return
		fi
		echo "slurm-local: apt-get failed (try $try of 10), retrying in 30 s" >&2
		sleep 30
	done
	die "could not install slurm-wlm and munge"
}

start_munge() {
	if alive /run/munge/munged.pid; then
		return
	fi
	install -d -o munge -g munge -m 0755 /run/munge
	install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
	if [ ! -s /etc/munge/munge.key ]; then
		mungekey --create --keyfile=/etc/munge/munge.key
	fi
	chown munge:munge /etc/munge/munge.key
	chmod 0400 /etc/munge/munge.key
	runuser -u munge -- /usr/sbin/munged
	for _ in $(seq 50); do
		munge -n </dev/null | unmunge >/dev/null 2>&1 && return
		sleep 0.1
	done
	die "munged does not answer (see /var/log/munge/munged.log)"
}

write_conf() {
	if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
		die "$CONF exists and was not written by this script: not touching it"
	fi
	local host node
	host=$(hostname -s)
	# slurmd -C prints this machine's node line (CPUs, sockets, cores, threads, RealMemory).
	node=$(slurmd -C | head -n 1)
	[[ "$node" == NodeName=* ]] || die "slurmd -C printed no node line: $node"
	install -d -m 0755 /etc/slurm /var/spool/slurmctld /var/spool/slurmd "$LOGDIR"
	cat >"$CONF" <<EOF
$MARK: a one-node cluster on $host.
ClusterName=sftlab-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmdTimeout=120
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

cmd_start() {
	need_root
	command -v slurmctld >/dev/null || die "slurm-wlm is not installed: run $0 install"
	start_munge
	write_conf
	alive /run/slurmctld.pid || slurmctld
	alive /run/slurmd.pid || slurmd
	local host state
	host=$(hostname -s)
	for _ in $(seq 60); do
		state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
		case "$state" in
		idle* | mix* | alloc*)
			echo "slurm-local: node $host is $state"
			return
			;;
		down* | drain*)
			scontrol update nodename="$host" state=resume 2>/dev/null || true
			;;
		esac
		sleep 1
	done
	sinfo >&2 || true
	tail -n 20 "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" >&2 || true
	die "node $host did not come up (state: ${state:-none})"
}

cmd_stop() {
	need_root
	local f
	for f in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
		if alive "$f"; then
			kill "$(cat "$f")"
		fi
	done
	echo "slurm-local: stopped"
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) sinfo ;;
*) die "usage: $0 install|start|status|stop" ;;
esac
