#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the tests: munged on a
# private socket with a generated key, slurmctld and slurmd on private
# ports, a generated slurm.conf, everything in one folder.  No cgroups:
# proctrack/linuxproc and task/none.  Runs as root (SlurmUser=root).
#
#   source tests/slurm/cluster.sh; slurm_start DIR   exports SLURM_CONF; 0 when a job runs
#   slurm_stop DIR
slurm_start() {
	local d=$1 host i port=${SLURM_TEST_PORT:-$((17000 + RANDOM % 2000))}
	host=$(hostname -s)
	mkdir -p "$d/state" "$d/spool" "$d/munge"
	chmod 700 "$d/munge"
	dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 2>/dev/null
	chmod 400 "$d/munge/munge.key"
	munged --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" --pid-file="$d/munge/munged.pid" \
		--log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed" --force || return 1
	cat >"$d/slurm.conf" <<EOF
ClusterName=mlpipe-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=2
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
	export SLURM_CONF=$d/slurm.conf
	slurmctld -f "$SLURM_CONF" || return 1
	slurmd -f "$SLURM_CONF" || return 1
	for ((i = 0; i < 100; i++)); do
		sinfo -h -o %T 2>/dev/null | grep -q idle && return 0
		sleep 0.2
	done
	return 1
}

slurm_stop() {
	local d=$1 f
	for f in slurmd slurmctld munge/munged; do
		[ -f "$d/$f.pid" ] && kill "$(cat "$d/$f.pid")" 2>/dev/null
	done
	sleep 0.5
}
