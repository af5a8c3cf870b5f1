class IngestError(Exception):
    """A problem with one input (file or record), reported in one line; the batch goes on."""
