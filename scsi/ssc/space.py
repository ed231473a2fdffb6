"""SPACE(6) and SPACE(16): move over blocks, filemarks, sequential filemarks, to EOD.

Positions are logical object numbers; filemarks are found by binary search in
the partition index, so spacing over any number of files is O(log n).  When a
space stops early, INFORMATION holds the absolute value of what was not done
(SSC-4 7.8; Linux st reads it that way), with FILEMARK, EOM at BOP, or BLANK
CHECK at EOD.
"""
from __future__ import annotations

from ..device import Access, Request
from ..layout import Layout, bits, control, reserved, signed
from ..sense import Asc, CheckCondition, Sense, SenseKey
from .commands import SSC
from .end_of_data import end_of_data, go_to_end_of_data

SPACE_6 = Layout("SPACE(6)", bits("opcode", 8), reserved(4), bits("code", 4),
                 signed("count", 24), *control())
SPACE_16 = Layout("SPACE(16)", bits("opcode", 8), reserved(4), bits("code", 4), reserved(16),
                  signed("count", 64),
                  bits("parameter_length", 16), reserved(8), *control())

BLOCKS, FILEMARKS, SEQUENTIAL_FILEMARKS, END_OF_DATA, SETMARKS, SEQUENTIAL_SETMARKS = range(6)


def _filemark_stop(residue: int) -> CheckCondition:
    return CheckCondition(Sense.of(SenseKey.NO_SENSE, Asc.FILEMARK_DETECTED, filemark=True,
                                   information=residue))


def _bop_stop(residue: int) -> CheckCondition:
    return CheckCondition(Sense.of(SenseKey.NO_SENSE, Asc.BEGINNING_OF_PARTITION_MEDIUM_DETECTED,
                                   eom=True, information=residue))




def space_blocks(part, n: int) -> None:
    pos = part.pos
    if n > 0:
        fm = part.filemark(part.filemarks_before(pos))      # next filemark at or after pos
        if fm is not None and fm < pos + n:
            part.locate(fm + 1)
            raise _filemark_stop(n - (fm - pos))
        if pos + n > part.eod:
            part.locate(part.eod)
            raise end_of_data(part, n - (part.eod - pos))
        part.locate(pos + n)
    elif n < 0:
        n = -n
        k = part.filemarks_before(pos)
        fm = part.filemark(k - 1) if k else None            # last filemark before pos
        if fm is not None and fm >= pos - n:
            part.locate(fm)
            raise _filemark_stop(n - (pos - fm - 1))
        if pos - n < 0:
            part.locate(0)
            raise _bop_stop(n - pos)
        part.locate(pos - n)


def space_filemarks(part, n: int) -> None:
    k = part.filemarks_before()
    if n > 0:
        fm = part.filemark(k + n - 1)
        if fm is None:
            part.locate(part.eod)
            raise end_of_data(part, n - (part.filemark_count - k))
        part.locate(fm + 1)
    elif n < 0:
        n = -n
        if n > k:
            part.locate(0)
            raise _bop_stop(n - k)
        part.locate(part.filemark(k - n))


def space_sequential_filemarks(part, n: int) -> None:
    """Position after (forward) or before (reverse) the first run of ``|n|`` filemarks."""
    count = part.filemark_count
    k = part.filemarks_before()
    if n > 0:
        run_start = None
        for j in range(k, count):
            if run_start is None or part.filemark(j) != part.filemark(j - 1) + 1:
                run_start = j
            if j - run_start + 1 == n:
                part.locate(part.filemark(j) + 1)
                return
        part.locate(part.eod)
        raise end_of_data(part, n)
    elif n < 0:
        n = -n
        run_end = None
        for j in range(k - 1, -1, -1):
            if run_end is None or part.filemark(j) != part.filemark(j + 1) - 1:
                run_end = j
            if run_end - j + 1 == n:
                part.locate(part.filemark(j))
                return
        part.locate(0)
        raise _bop_stop(n)
    else:
        # A count of zero positions nowhere; SSC makes it a no-op.
        return


def space(dev, req: Request, code: int, count: int) -> None:
    if code in (SETMARKS, SEQUENTIAL_SETMARKS) and dev.personality.is_lto:
        raise req.invalid("code")
    if code > SEQUENTIAL_SETMARKS:
        raise req.invalid("code")
    part = dev.medium()
    if code == END_OF_DATA:
        go_to_end_of_data(part)
    elif count == 0:
        return None
    elif code == BLOCKS:
        space_blocks(part, count)
    elif code == FILEMARKS:
        space_filemarks(part, count)
    elif code == SEQUENTIAL_FILEMARKS:
        space_sequential_filemarks(part, count)
    else:
        _space_setmarks(part, count, sequential=code == SEQUENTIAL_SETMARKS)
    return None


def _space_setmarks(part, n: int, sequential: bool) -> None:
    """Setmarks (non-LTO personalities): same rules as filemarks, over the setmark list."""
    k = part.setmarks_before()
    total = len(part.index.setmarks)
    if n > 0:
        sm = part.setmark(k + n - 1)
        if sm is None:
            part.locate(part.eod)
            raise end_of_data(part, n - (total - k))
        part.locate(sm + 1)
    else:
        n = -n
        if n > k:
            part.locate(0)
            raise _bop_stop(n - k)
        part.locate(part.setmark(k - n))


@SSC.register("SPACE(6)", 0x11, SPACE_6, access=Access.WRITE)
def space6(dev, req: Request):
    return space(dev, req, req.fields.code, req.fields.count)


@SSC.register("SPACE(16)", 0x91, SPACE_16, access=Access.WRITE)
def space16(dev, req: Request):
    if req.fields.parameter_length:
        raise req.invalid("parameter_length")
    return space(dev, req, req.fields.code, req.fields.count)
