#!/bin/sh
# PID 1 in the test VM, after the initramfs switch_root'ed into the host's root
# (read-only 9p under a tmpfs overlay).  Sets up a minimal system, runs the
# test's script once, leaves its output and exit code in the results share,
# and powers the VM off.  Never exits (PID 1 exiting panics the kernel).
V=/vtl-results/.vtl
BB=/bin/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() {
    echo "vtl-guest: $*" >/dev/console
    echo "$*" > "$V/guest_error"
    $BB sync
    $BB poweroff -f
    exec $BB sleep 1000000
}

$BB mount -t proc proc /proc
$BB mount -t sysfs sysfs /sys
$BB mkdir -p /dev/pts /dev/shm
$BB mount -t devpts -o gid=5,mode=620,ptmxmode=000 devpts /dev/pts
$BB mount -t tmpfs -o mode=1777 tmpfs /dev/shm
$BB mount -t tmpfs -o mode=0755 tmpfs /run
# /tmp and /var/tmp stay the overlay's (writable, host content visible): the repository
# and its virtual environment may live there, as CI's clean clone in /tmp does.
$BB mkdir -p /run/lock
[ -L /var/run ] || $BB mount --bind /run /var/run
echo vtl-guest > /proc/sys/kernel/hostname
$BB ip link set lo up                       # the kernel gives lo 127.0.0.1/8

# The test's environment (PATH, PYTHONPATH, VTL_*, and run_vm(env=...)).
. "$V/env"

# LIO's dbroot: /etc/target if it exists when target_core_mod loads (else
# /var/target, with a "db_root: cannot open" error); APTPL registrations go to
# <dbroot>/pr, ALUA state to <dbroot>/alua.  In the overlay: new every boot.
$BB mkdir -p /etc/target/pr /etc/target/alua
# LIO, TCMU, tcm_loop, iSCSI target, SCSI tape/changer/generic, UIO.  Built-in
# ones are no-ops for modprobe; configfs comes in as target_core_mod's dependency.
if ! modprobe -a $VTL_MODULES > "$V/modprobe.log" 2>&1; then
    for m in $VTL_MODULES; do
        modprobe "$m" >> "$V/modprobe.log" 2>&1 || die "modprobe $m failed: $(cat "$V/modprobe.log")"
    done
fi
$BB mount -t configfs configfs /sys/kernel/config || die "cannot mount configfs"

# udev: device nodes come from devtmpfs anyway (/dev/sgN, /dev/nstN, /dev/schN,
# /dev/uioN); udevd adds its database (/run/udev/data) and /dev/tape/by-id links
# for devices that appear after it starts.  No coldplug trigger (slow under TCG).
if [ "$VTL_GUEST_UDEV" = 1 ] && [ -x /lib/systemd/systemd-udevd ]; then
    /lib/systemd/systemd-udevd --daemon > "$V/udevd.log" 2>&1 || echo "vtl-guest: udevd did not start" >/dev/console
fi

cd "$VTL_CWD" || die "cannot cd to $VTL_CWD"
$BB cut -d' ' -f1 /proc/uptime > "$V/script_start"
# Output goes to the results share (live, for the host) and to the console,
# through a FIFO rather than a pipe: a daemon the script leaves running in the
# background keeps its stdout open, and must not keep the VM from ending.
$BB mkfifo /run/vtl-output
$BB tee "$V/output" < /run/vtl-output &
tee_pid=$!
/bin/sh -e "$V/script" > /run/vtl-output 2>&1 < /dev/null
echo $? > "$V/rc"
tee_running() {   # not yet exited (a zombie counts as exited)
    [ -e /proc/$tee_pid/stat ] || return 1
    read -r _ _ state _ < /proc/$tee_pid/stat && [ "$state" != Z ]
}
i=0
while [ $i -lt 20 ] && tee_running; do   # at most 1 s
    $BB sleep 0.05; i=$((i + 1))
done
$BB cut -d' ' -f1 /proc/uptime > "$V/script_end"
$BB sync
$BB poweroff -f
exec $BB sleep 1000000
