"""Kernel attach, checked with the real tools in a VM: `vtl serve` as root makes LIO
backstores, a tcm_loop port and an iSCSI port (CHAP, over loopback) for one library;
lsscsi, sg3_utils, mt, tar, mtx, sg_persist and open-iscsi use them.

One boot runs the whole scenario (tests/kernel/attach.sh); each test below reads
what one step left in the results directory (``NAME.out`` and ``NAME.rc``).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from kernel.vm import run_vm

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    again = os.environ.get("VTL_ATTACH_RESULTS")
    if again:       # re-check the results of an earlier boot (while changing the checks)
        return Steps(Path(again), "")
    result = run_vm((HERE / "attach.sh").read_text(), timeout=1200, memory_mb=768,
                    workdir=tmp_path_factory.mktemp("attach"))
    results = result.results_dir
    assert (results / "done").exists(), result.output[-4000:]
    return Steps(results, result.output)


class Steps:
    def __init__(self, results: Path, output: str):
        self.results = results
        self.output = output

    def out(self, name: str) -> str:
        path = self.results / f"{name}.out"
        assert path.exists(), f"step {name} did not run:\n{self.output[-3000:]}"
        return path.read_text(errors="replace")

    def rc(self, name: str) -> int:
        return int((self.results / f"{name}.rc").read_text())

    def ok(self, name: str) -> str:
        text = self.out(name)
        assert self.rc(name) == 0, f"{name} failed ({self.rc(name)}):\n{text[-3000:]}"
        return text

    def json(self, name: str):
        return json.loads(self.ok(name))


def dce(sg_raw_output: str) -> bool:
    """DCE of the Data Compression mode page in sg_raw's hex dump of MODE SENSE(6)."""
    data = []
    for line in sg_raw_output.splitlines():
        m = re.match(r"\s+[0-9a-f]{2,}\s{2,}((?:[0-9a-f]{2} ?)+)", line)
        if m:
            data += [int(b, 16) for b in m.group(1).split()]
    assert len(data) >= 8 and data[4] & 0x3F == 0x0F, sg_raw_output
    return bool(data[6] & 0x80)


def test_lsscsi_shows_the_changer_and_drive_on_both_paths(steps):
    text = steps.ok("lsscsi_both")
    changers = [line for line in text.splitlines() if "mediumx" in line]
    tapes = [line for line in text.splitlines() if " tape " in line]
    assert len(changers) == 2 and len(tapes) == 2, text
    assert all("IBM" in line and "3573-TL" in line for line in changers)
    assert all("IBM" in line and "ULT3580-TD8" in line for line in tapes)


def test_sg3_utils_answers(steps):
    assert "Peripheral device type: tape" in steps.ok("sg_inq_tape")
    assert "VMDRV1" in steps.ok("sg_vpd_sn_loop") and "VMDRV1" in steps.ok("sg_vpd_sn_iscsi")
    di = steps.ok("sg_vpd_di")
    assert "designator type: NAA" in di and re.search(r"vendor specific: ULT3580-TD8\s+VMDRV1", di)
    modes = steps.ok("sg_modes")
    for page in ("Read-Write error recovery", "Control", "Data Compression", "Device configuration",
                 "Medium Partition", "Informational exceptions control"):
        assert page in modes
    assert "Supported log pages" in steps.ok("sg_logs")
    rtpg = steps.ok("sg_rtpg")
    assert rtpg.count("target port group id") == 2
    assert "0x01" in rtpg and "0x02" in rtpg


def test_mt_and_tar_two_archives_read_back(steps):
    assert "BOT" in steps.ok("mt_status_loaded") or "ONLINE" in steps.ok("mt_status_loaded")
    for name in ("mt_setblk", "tar_write_1", "tar_write_2", "mt_rewind", "tar_read_1", "mt_fsf",
                 "tar_read_2", "mt_eod", "mt_bsf", "mt_weof", "mt_compression_on",
                 "mt_compression_off"):
        steps.ok(name)
    assert dce(steps.ok("dce_on")) is True and dce(steps.ok("dce_off")) is False
    assert steps.out("diff_1") == "" and steps.rc("diff_1") == 0
    assert steps.out("diff_2") == "" and steps.rc("diff_2") == 0
    assert re.search(r"File number=1\b", steps.ok("mt_status_after_fsf")), steps.out("mt_status_after_fsf")


def test_mtx_and_vtl_agree(steps):
    status = steps.ok("mtx_status")
    assert "Storage Element 1:Full :VolumeTag=VM0000L8" in status.replace("  ", " ")
    assert "Data Transfer Element 0:Empty" in status
    steps.ok("mtx_load")
    assert "Data Transfer Element 0:Full (Storage Element 1 Loaded):VolumeTag = VM0000L8" in \
        steps.ok("mtx_status_loaded")
    assert steps.json("vtl_status_loaded")["libraries"][0]["drives"][0]["barcode"] == "VM0000L8"
    steps.ok("mtx_unload")
    assert where(steps.json("vtl_status_unloaded")) == {"VM0000L8": 4096, "VM0001L8": 4097,
                                                        "VM0002L8": 4098, "VM0003L8": 4099}
    steps.ok("mtx_transfer")
    assert "Storage Element 5:Full :VolumeTag=VM0001L8" in steps.ok("mtx_status_transfer")
    assert where(steps.json("vtl_status_transfer"))["VM0001L8"] == 4100
    steps.ok("mtx_eepos")
    assert where(steps.json("vtl_status_eepos"))["VM0001L8"] == 4097
    steps.ok("vtl_load")
    assert "Data Transfer Element 0:Full (Storage Element 1 Loaded):VolumeTag = VM0000L8" in \
        steps.ok("mtx_status_after_vtl_load")
    steps.ok("vtl_unload")
    after = steps.ok("mtx_status_after_vtl_unload")
    assert "Data Transfer Element 0:Empty" in after and "Storage Element 1:Full :VolumeTag=VM0000L8" in after


def where(inventory) -> dict[str, int]:
    """barcode -> element address, from `vtl inventory --json`."""
    elements = inventory["elements"] if isinstance(inventory, dict) else inventory
    return {e["barcode"]: e["address"] for e in elements if e.get("barcode")}


def test_stenc_sets_a_key_and_tar_reads_back_through_it(steps):
    """stenc (SECURITY PROTOCOL OUT/IN through SG_IO on the st device) turns encryption on
    with a key and its description; tar writes and reads an archive through it; with
    encryption off the same blocks cannot be read (DATA PROTECT, UNABLE TO DECRYPT DATA)."""
    assert "Success!" in steps.ok("stenc_on")
    status = steps.ok("stenc_status")
    assert re.search(r"Drive Encryption:\s+on", status) and re.search(r"Drive Key Desc.\(uKAD\):\s+vtl vm key", status)
    steps.ok("enc_tar_write")
    detail = steps.ok("enc_detail")
    assert re.search(r"Volume Encryption:\s+Encrypted and able to decrypt", detail), detail
    steps.ok("enc_tar_read")
    steps.ok("enc_diff")
    assert "Success!" in steps.ok("stenc_off")
    assert steps.rc("enc_tar_read_off") != 0
    sense = steps.out("enc_sense").lower()
    assert "data protect" in sense and "unable to decrypt data" in sense, sense
    steps.ok("enc_restore")


def test_persistent_reservations_across_initiators(steps):
    assert "0x1111" in steps.ok("pr_keys") and "0x2222" in steps.ok("pr_keys")
    assert "Key=0x1111" in steps.ok("pr_reservation_a")
    assert steps.rc("pr_conflict_b") != 0
    assert "Registrations preempted" in steps.out("pr_ua_a")
    assert "reservation conflict" in steps.out("pr_conflict_b").lower()
    steps.ok("pr_preempt_b")
    assert "Key=0x2222" in steps.ok("pr_reservation_after_preempt")
    assert "reservation conflict" in steps.out("reserve6_conflict").lower()
    steps.ok("reserve6_release")


def test_iscsi_chap_login_and_path_failover(steps):
    assert "LOGGED_IN" in steps.ok("iscsi_session") or "Logged in" in steps.ok("iscsi_login")
    steps.ok("path_offline")
    steps.ok("io_on_other_path")
    assert "./spc/inquiry.py" in steps.ok("io_listing_b")      # the first archive, read via iSCSI
    assert "offline" in steps.ok("path_show_offline")
    steps.ok("path_online")


def test_aptpl_registration_survives_a_restart(steps):
    assert "0x3333" in steps.ok("aptpl_keys_after_restart")


def test_kill_during_tar_write_keeps_the_first_archive(steps):
    steps.ok("crash_tar_1")
    steps.ok("crash_restart")
    steps.ok("crash_read_back")
    assert steps.out("crash_diff") == "" and steps.rc("crash_diff") == 0


def test_clean_stop_removes_what_it_made(steps):
    assert steps.ok("leftovers").strip() == "", steps.out("leftovers")


def test_ndmp_tape_service_over_sg_io(steps):
    """The NDMP tape service's own code (ndmp.tape_drive over ndmp.sg_path) reads the drive
    through the kernel's sg driver: the path a real drive would be reached by."""
    facts = {line.split()[0]: line.split()[1:] for line in steps.ok("sg_ndmp").splitlines() if line.strip()}
    assert facts["inquiry_product"] == ["ULT3580-TD8"]
    assert facts["rewind"] == ["NDMP_NO_ERR"]
    assert facts["first_record"][:2] == ["NDMP_NO_ERR", "10240"] and facts["first_record"][2:] == ["./", "ustar"]
    assert facts["fsf"] == ["NDMP_NO_ERR", "0", "file_num", "1"]
    assert facts["second_file_record"] == ["NDMP_NO_ERR", "10240", "ustar"]
    assert facts["write_read_only"] == ["NDMP_PERMISSION_ERR"]
    assert facts["close"] == ["NDMP_NO_ERR"]
