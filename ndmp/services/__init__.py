"""One module per NDMP interface the server implements (NDMJOB's ndma_*.c split).

Each module holds plain handler functions ``handler(state, body) -> reply body``;
``ndmp.dispatch`` is the one table that maps message codes to them.  Present:
``connect`` and ``config``; ``scsi``, ``tape``, ``mover`` and ``data`` come later,
and until then their messages are answered NDMP_NOT_SUPPORTED_ERR.
"""
