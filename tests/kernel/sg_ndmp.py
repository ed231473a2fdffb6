"""Inside the test VM: the NDMP tape service's own code reads our emulated drive through
the kernel, over SG_IO on the drive's /dev/sg node (ndmp.sg_path.SgPath), as it would
read a real drive.  Prints one ``name value`` line per fact for test_attach.py.

    python tests/kernel/sg_ndmp.py /dev/sgN     (the tape holds two tar archives)
"""
from __future__ import annotations

import sys

from ndmp.backend import TapeTarget
from ndmp.constants import ErrorCode, TapeMtioOp, TapeOpenMode
from ndmp.scsi_path import NoSuchDevice
from ndmp.sg_path import SgPath
from ndmp.tape_drive import open_tape
from tapeconf import get_bundled


class OneDrive:
    """A backend of one real drive behind an sg node, known as st0."""

    def __init__(self, device: str):
        self.device = device

    def open_tape(self, alias: str, initiator: str) -> TapeTarget:
        if alias != "st0":
            raise NoSuchDevice(alias)
        path = SgPath(self.device)
        serial = bytes(path.execute(bytes([0x12, 1, 0x80, 0, 64, 0]), data_in=64).data_in[4:]).decode().strip()
        return TapeTarget(path, serial, "IBM ULT3580-TD8", get_bundled("IBM_LTO8"))


def main(device: str) -> None:
    path = SgPath(device)
    inquiry = path.execute(bytes([0x12, 0, 0, 0, 96, 0]), data_in=96)
    print("inquiry_product", bytes(inquiry.data_in[16:32]).decode().strip())
    print("address", ",".join(map(str, path.address)))
    path.close()
    tape = open_tape(OneDrive(device), "nrst0l", TapeOpenMode.NDMP_TAPE_READ_MODE, initiator="ndmp:vm")
    print("rewind", tape.mtio(TapeMtioOp.NDMP_MTIO_REW, 1).error.name)
    buf = memoryview(bytearray(65536))
    first = tape.read_into(buf)
    print("first_record", first.error.name, first.count, bytes(buf[:2]).decode(errors="replace"),
          bytes(buf[257:262]).decode(errors="replace"))        # tar: name, then "ustar" at 257
    fsf = tape.mtio(TapeMtioOp.NDMP_MTIO_FSF, 1)
    state = tape.get_state()
    print("fsf", fsf.error.name, fsf.count, "file_num", state.file_num)
    second = tape.read_into(buf)
    print("second_file_record", second.error.name, second.count, bytes(buf[257:262]).decode(errors="replace"))
    write = tape.write(b"x" * 512)
    print("write_read_only", write.error.name)
    print("close", tape.close().name)
    assert write.error == ErrorCode.NDMP_PERMISSION_ERR


if __name__ == "__main__":
    main(sys.argv[1])
