"""One module per NDMP interface the server implements (NDMJOB's ndma_*.c split).

Each module holds plain handler functions ``handler(state, body) -> reply body``;
``ndmp.dispatch`` is the one table that maps message codes to them.  Present:
``connect``, ``config``, ``scsi``, ``tape`` and ``mover``; ``data`` comes with the
dump engine, and until then its messages are answered NDMP_NOT_SUPPORTED_ERR.
"""
