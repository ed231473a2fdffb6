"""The TCMU transport: the kernel's userspace backstore ring, served to our SCSI devices.

The kernel (target_core_user) hands each userspace backstore a UIO device
whose memory holds a command ring and a data area.  This package reads that
ring and calls ``execute`` on the device it was given; it knows rings, not
tapes (see DESIGN.md, "tcmu-runner").

* :mod:`.layout`    -- the kernel ABI, declared once;
* :mod:`.ring`      -- the ring over a buffer, sans-IO;
* :mod:`.doorbell`  -- waiting for and signalling the kernel;
* :mod:`.uio`       -- opening and mapping ``/dev/uioN``;
* :mod:`.discovery` -- finding our UIO devices (pyudev);
* :mod:`.counters`  -- per-device statistics;
* :mod:`.server`    -- one worker thread per device, lifecycle rules.
"""
