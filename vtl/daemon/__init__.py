"""`vtl serve`: the daemon that runs a node's libraries and serves the control API.

* :mod:`vtl.daemon.methods` -- the control API: one table of method -> handler;
* :mod:`vtl.daemon.control` -- JSON lines over a Unix socket (the wire);
* :mod:`vtl.daemon.service` -- what plugs into the daemon (control, and later TCMU, NDMP);
* :mod:`vtl.daemon.serve` -- start-up, signals, clean shutdown.
"""
