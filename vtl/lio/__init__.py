"""The kernel target: LIO wiring (rtslib-fb) and the daemon service that serves it.

``names`` derives every kernel-side name from the configuration (so a restart
finds what the last run made), ``wiring`` creates, adopts and removes the LIO
objects, ``paths`` reports and switches target ports, ``service`` plugs it all
into ``vtl serve`` with the TCMU ring transport (:mod:`vtl.tcmu`).
"""
