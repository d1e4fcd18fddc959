#!/bin/sh
# boot.sh DIR HOSTNAME — runs as PID 1 of fresh PID, mount, UTS, IPC, network and cgroup namespaces (see
# realhost.go). It builds a root from an overlay of this machine's / whose writes land in a tmpfs,
# gives it its own /proc, /sys, cgroup2, /dev, /run, /tmp and root home, pivots into it and execs
# systemd. Nothing it mounts is visible outside its mount namespace, so it all goes with it.
set -eu
D=$1
mount -t tmpfs -o mode=0755,size=512m realhost "$D/ns"
mkdir -p "$D/ns/upper" "$D/ns/work" "$D/ns/root"
cp -a "$D/seed/." "$D/ns/upper/"
mount -t overlay overlay -o "lowerdir=/,upperdir=$D/ns/upper,workdir=$D/ns/work" "$D/ns/root"
R=$D/ns/root
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
if [ -e "$R/proc/sysrq-trigger" ]; then mount --bind /dev/null "$R/proc/sysrq-trigger"; fi
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"
mount -t tmpfs -o mode=0755,nosuid,size=4m dev "$R/dev"
for n in null zero full random urandom tty; do
	touch "$R/dev/$n"
	mount --bind "/dev/$n" "$R/dev/$n"
done
mkdir -p "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m run "$R/run"
mount -t tmpfs -o mode=1777,nosuid,nodev,size=256m tmp "$R/tmp"
# A root home of its own: this machine's ~/.bashrc costs seconds per SSH command.
mount -t tmpfs -o mode=0700,size=16m roothome "$R/root"
cp -a /etc/skel/. "$R/root/"
hostname "$2"
ip link set lo up # its own network namespace: loopback only, nothing else exists in it
cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
# This machine's clock, kernel and power stay out of reach. CAP_NET_ADMIN stays: it reaches only
# the host's own network namespace (nftables rules there are the firewall checks' to read).
exec setpriv --bounding-set -sys_module,-sys_time,-sys_boot,-sys_rawio,-syslog,-wake_alarm,-block_suspend,-mac_admin,-mac_override \
	env -i container=cutover-realhost TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	/lib/systemd/systemd --system --unit=multi-user.target --log-target=journal-or-kmsg --show-status=false
