"""The lines of a text handed to :func:`csv.reader` one at a time from any line on, so that
a reader that meets a record which is not CSV can start again on the line after it (the
catalog's and the events file's CSV readers). Imports nothing: the study's events reader
uses it without loading the catalog."""

from __future__ import annotations


class Lines:
    """The lines of a text as ``csv.reader`` reads them, from any line on; ``i`` is the index
    of the next line to be read (the reader reads no further than the record it gives).

    >>> import csv
    >>> lines = Lines(['a,"b\\n', 'c",d\\n', "e,f\\n"], 0)  # a quoted cell over two lines
    >>> next(csv.reader(lines)), lines.i
    (['a', 'b\\nc', 'd'], 2)
    """

    def __init__(self, lines: list[str], i: int) -> None:
        self.lines, self.i = lines, i

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        if self.i >= len(self.lines):
            raise StopIteration
        self.i += 1
        return self.lines[self.i - 1]
