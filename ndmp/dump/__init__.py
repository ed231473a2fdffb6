"""The dump engine: NDMP backups and restores in the BSD dump format (``images.dump``).

``engine.DumpEngine`` is what the DATA service calls; ``options`` reads the
environment, ``selection`` is Phase I, ``backup`` the phases that write,
``restore`` and ``extract`` the way back, ``filehist`` the FH posts."""
