# The kernel attach scenario, run as root in the test VM (see test_attach.py).
# step NAME CMD...: CMD's output goes to NAME.out, its exit status to NAME.rc; a failing
# step does not stop the scenario (the tests say which step failed and why).
set +e
R=$VTL_RESULTS
export VTL_HOME=/tmp/vtl
CFG=$VTL_HOME/vtl.toml
VTL="python -m vtl.cli --config $CFG"
IQN=iqn.2026-11.org.vtl:vmnode.lib0.iscsi
mkdir -p $VTL_HOME /tmp/src1 /tmp/src2 /tmp/out1 /tmp/out2 /tmp/crash

step() { name=$1; shift; "$@" > "$R/$name.out" 2>&1; echo $? > "$R/$name.rc"; }
log() { echo "== $*"; }

cat > $CFG <<'EOF'
[node]
name = "vmnode"

[[library]]
name = "lib0"
slots = 8
mailslots = 1

[library.changer]
serial = "VMCHG0"

[[library.drive]]
personality = "IBM_LTO8"
serial = "VMDRV1"

[[library.cartridge]]
barcodes = "VM0000L8-VM0003L8"
capacity = "256MiB"

[[library.target]]
name = "loop"
fabric = "loop"

[[library.target]]
name = "iscsi"
fabric = "iscsi"
portals = ["127.0.0.1:3260"]
chap = { userid = "lab", password = "tape-secret-1" }
EOF

start_serve() {
    python -m vtl.cli serve --config $CFG >> $R/serve.log 2>&1 &
    echo $! > $VTL_HOME/serve.pid
    for i in $(seq 1 240); do
        grep -q "serving:" $R/serve.log 2>/dev/null && [ "$(grep -c 'serving:' $R/serve.log)" -ge "$1" ] && break
        sleep 0.5
    done
    udevadm settle 2>/dev/null
}
stop_serve() { kill "$(cat $VTL_HOME/serve.pid)"; while kill -0 "$(cat $VTL_HOME/serve.pid)" 2>/dev/null; do sleep 0.2; done; }
wait_for() { for i in $(seq 1 120); do [ -e "$1" ] && return 0; sleep 0.5; done; return 1; }
# sg node of the first device of TYPE (tape|mediumx) on PATH (loop|iscsi): lsscsi -t
# shows the target IQN for iSCSI and nothing for tcm_loop
sg_of() { lsscsi -g -t | awk -v t="$1" -v p="$2" '$2 == t && (p == "iscsi") == ($0 ~ /iqn/) { print $NF; exit }'; }
st_of() { lsscsi -t | awk -v p="$1" '$2 == "tape" && (p == "iscsi") == ($0 ~ /iqn/) { print $NF; exit }' | sed 's|/dev/st|/dev/nst|'; }

log "start"
start_serve 1
wait_for /dev/nst0; wait_for /dev/sch0
step lsscsi_loop lsscsi -g -t

log "iSCSI login with CHAP"
mkdir -p /etc/iscsi /run/lock/iscsi /var/lib/iscsi
[ -s /etc/iscsi/initiatorname.iscsi ] || echo "InitiatorName=iqn.1993-08.org.debian:01:vtlvm" > /etc/iscsi/initiatorname.iscsi
setsid iscsid -f > $R/iscsid.log 2>&1 < /dev/null &
sleep 1
step iscsi_discovery iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260
iscsiadm -m node -T $IQN -p 127.0.0.1:3260 -o update -n node.session.auth.authmethod -v CHAP
iscsiadm -m node -T $IQN -p 127.0.0.1:3260 -o update -n node.session.auth.username -v lab
iscsiadm -m node -T $IQN -p 127.0.0.1:3260 -o update -n node.session.auth.password -v tape-secret-1
step iscsi_login iscsiadm -m node -T $IQN -p 127.0.0.1:3260 --login
for i in $(seq 1 60); do [ "$(lsscsi | grep -c tape)" -ge 2 ] && break; sleep 0.5; done
udevadm settle 2>/dev/null
step iscsi_session iscsiadm -m session -P 1
step lsscsi_both lsscsi -g

TAPE_A=$(sg_of tape loop); TAPE_B=$(sg_of tape iscsi); CHG_A=$(sg_of mediumx loop)
NST_A=$(st_of loop); NST_B=$(st_of iscsi); SCH=/dev/sch0
echo "loop tape $TAPE_A $NST_A, iscsi tape $TAPE_B $NST_B, changer $CHG_A" > $R/devices.out

log "sg3_utils"
step sg_inq_tape sg_inq $TAPE_A
step sg_vpd_sn_loop sg_vpd -p sn $TAPE_A
step sg_vpd_sn_iscsi sg_vpd -p sn $TAPE_B
step sg_vpd_di sg_vpd -p di $TAPE_A
step sg_modes sg_modes -a $TAPE_A
step sg_logs sg_logs $TAPE_A
step sg_rtpg sg_rtpg -d $TAPE_B

log "mtx"
step mtx_status mtx -f $SCH status
step mtx_load mtx -f $SCH load 1 0
step mtx_status_loaded mtx -f $SCH status
step vtl_status_loaded $VTL status --json

log "mt and tar"
cp -r "$VTL_CWD/scsi/spc" /tmp/src1/; cp -r "$VTL_CWD/tapeconf" /tmp/src2/
step mt_status_loaded mt -f $NST_A status
step mt_rewind_0 mt -f $NST_A rewind
step mt_setblk mt -f $NST_A setblk 0
step tar_write_1 tar cf $NST_A -C /tmp/src1 .
step tar_write_2 tar cf $NST_A -C /tmp/src2 .
step mt_rewind mt -f $NST_A rewind
step tar_read_1 tar xf $NST_A -C /tmp/out1
step mt_fsf mt -f $NST_A fsf 1
step mt_status_after_fsf mt -f $NST_A status
step tar_read_2 tar xf $NST_A -C /tmp/out2
step diff_1 diff -r /tmp/src1 /tmp/out1
step diff_2 diff -r /tmp/src2 /tmp/out2
step mt_eod mt -f $NST_A eod
step mt_bsf mt -f $NST_A bsf 1
step mt_weof mt -f $NST_A weof 1
# Debian's mt-st has no datcompression command: read the Data Compression mode page
# (0Fh, DBD) after each setting instead; byte 6 of the answer holds DCE (bit 7).
step mt_compression_on mt -f $NST_A compression 1
step dce_on sg_raw -r 64 $TAPE_A 1a 08 0f 00 40 00
step mt_compression_off mt -f $NST_A compression 0
step dce_off sg_raw -r 64 $TAPE_A 1a 08 0f 00 40 00

log "tape data encryption with stenc ($NST_A)"
# stenc's key file: the key in hex on the first line, its description (the U-KAD) on the second
printf '%s\n%s\n' 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "vtl vm key" > /tmp/tape.key
mkdir -p /tmp/enc_out
step stenc_on stenc -f $NST_A -e on -k /tmp/tape.key -a 1
step stenc_status stenc -f $NST_A --detail
step enc_rewind mt -f $NST_A rewind
step enc_tar_write tar cf $NST_A -C /tmp/src1 .
step enc_rewind_2 mt -f $NST_A rewind
step enc_detail stenc -f $NST_A --detail
step enc_tar_read tar xf $NST_A -C /tmp/enc_out
step enc_diff diff -r /tmp/src1 /tmp/enc_out
step stenc_off stenc -f $NST_A -e off
step enc_rewind_3 mt -f $NST_A rewind
step enc_tar_read_off tar tf $NST_A
step enc_rewind_4 mt -f $NST_A rewind
step enc_sense sg_raw -r 10240 $TAPE_A 08 00 00 28 00 00
# the tape as the steps below expect it: the two archives, in the clear
step enc_restore sh -c "mt -f $NST_A rewind && tar cf $NST_A -C /tmp/src1 . && tar cf $NST_A -C /tmp/src2 ."

log "persistent reservations: loop ($TAPE_A) and iSCSI ($TAPE_B)"
# each initiator first hears the unit attentions of the load (not ready to ready)
for i in 1 2 3; do sg_turs $TAPE_A > /dev/null 2>&1; sg_turs $TAPE_B > /dev/null 2>&1; done
step pr_register_a sg_persist --out --register --param-sark=0x1111 $TAPE_A
step pr_register_b sg_persist --out --register --param-sark=0x2222 $TAPE_B
step pr_keys sg_persist --in -k $TAPE_B
step pr_reserve_a sg_persist --out --reserve --param-rk=0x1111 --prout-type=3 $TAPE_A
step pr_reservation_a sg_persist --in -r $TAPE_B
step pr_conflict_b sg_raw $TAPE_B 01 00 00 00 00 00
step pr_preempt_b sg_persist --out --preempt --param-rk=0x2222 --param-sark=0x1111 --prout-type=3 $TAPE_B
step pr_ua_a sg_turs $TAPE_A      # A hears 2A/05 REGISTRATIONS PREEMPTED first
step pr_reservation_after_preempt sg_persist --in -r $TAPE_A
step pr_clear sg_persist --out --clear --param-rk=0x2222 $TAPE_B
step reserve6 sg_raw $TAPE_A 16 00 00 00 00 00
step reserve6_conflict sg_raw $TAPE_B 01 00 00 00 00 00
step reserve6_release sg_raw $TAPE_A 17 00 00 00 00 00

log "path failover"
step path_offline $VTL path offline lib0:loop
step path_show_offline $VTL library path show
step io_on_other_path sh -c "mt -f $NST_B rewind && tar tf $NST_B > /tmp/listing_b && mt -f $NST_B status"
step io_listing_b cat /tmp/listing_b
step rtpg_offline sg_rtpg -d $TAPE_B
step path_online $VTL path online lib0:loop

log "the NDMP tape service over SG_IO ($TAPE_A)"
step sg_ndmp python "$VTL_CWD/tests/kernel/sg_ndmp.py" $TAPE_A

log "mtx moves"
step mt_offline mt -f $NST_A offline
step mtx_unload mtx -f $SCH unload 1 0
step vtl_status_unloaded $VTL inventory --json
step mtx_transfer mtx -f $SCH transfer 2 5
step mtx_status_transfer mtx -f $SCH status
step vtl_status_transfer $VTL inventory --json
step mtx_eepos mtx -f $SCH eepos 0 transfer 5 2
step vtl_status_eepos $VTL inventory --json
step vtl_load $VTL load VM0000L8 st0
step mtx_status_after_vtl_load mtx -f $SCH status
step vtl_unload $VTL unload st0
step mtx_status_after_vtl_unload mtx -f $SCH status
step vtl_load_again $VTL load VM0000L8 st0

log "APTPL across a restart"
step aptpl_register sg_persist --out --register --param-aptpl --param-sark=0x3333 $TAPE_A
iscsiadm -m node -T $IQN -p 127.0.0.1:3260 --logout > $R/iscsi_logout.out 2>&1
stop_serve
start_serve 2
wait_for /dev/nst0
TAPE_A=$(sg_of tape loop); NST_A=$(st_of loop)
step aptpl_keys_after_restart sg_persist --in -k $TAPE_A
sg_persist --out --register --param-rk=0x3333 --param-sark=0 $TAPE_A > /dev/null 2>&1

log "kill -9 during a tar write"
for i in 1 2 3; do sg_turs $TAPE_A > /dev/null 2>&1; done
step crash_rewind mt -f $NST_A rewind
step crash_tar_1 tar cf $NST_A -C /tmp/src1 .
( tar cf $NST_A /usr/lib/python3 > $R/crash_tar_2.out 2>&1; echo $? > $R/crash_tar_2.rc ) &
TAR=$!
sleep 4
kill -9 "$(cat $VTL_HOME/serve.pid)"
sleep 1
start_serve 3
wait $TAR
step crash_restart $VTL status
step crash_rewind_after mt -f $NST_A rewind
step crash_read_back tar xf $NST_A -C /tmp/crash
step crash_diff diff -r /tmp/src1 /tmp/crash

log "clean stop"
stop_serve
step leftovers sh -c 'ls /sys/kernel/config/target/core | grep user_; ls /sys/kernel/config/target/loopback /sys/kernel/config/target/iscsi 2>/dev/null | grep -E "naa|iqn"'
echo 0 > $R/leftovers.rc
cp $R/serve.log $R/serve_log.out
touch $R/done
