"""What goes wrong reading a dump image."""


class DumpFormatError(ValueError):
    """The image is not what the dump format says; ``offset`` is where in the stream."""

    def __init__(self, message: str, offset: int):
        super().__init__(f"{message} (at byte {offset} of the dump image)")
        self.offset = offset
