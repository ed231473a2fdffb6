"""The tests' DMA over a real socket is the product's (``ndmp.dma``): connect, authenticate
with MD5, send requests, get the decoded replies, collect the server's posts.

    with NdmpClient("127.0.0.1", server.port).connect("ndmp", PASSWORD) as dma:
        reply = dma.call(M.NDMP_TAPE_OPEN, tp.TapeOpenRequest(device="nrst0l", mode=1))
        assert reply.body.error == ErrorCode.NDMP_NO_ERR

The timeout is a guard against a hung server, never a measurement.
"""
from __future__ import annotations

from ndmp.dma import DmaConnection, DmaError

__all__ = ["NdmpClient", "NdmpClientError"]

GUARD = 60.0          # seconds a read may block before the test is declared hung

NdmpClient = DmaConnection
NdmpClientError = DmaError
