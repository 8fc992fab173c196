"""Summaries that read well in a terminal, a notebook and a Markdown file.

Every result object's ``summary()`` returns a :class:`Summary` (as statsmodels and arch do):
``str(summary)`` and :meth:`Summary.as_text` give the plain-text form, :meth:`Summary.as_html`
real HTML tables (what a notebook shows through ``_repr_html_``), :meth:`Summary.as_markdown`
GitHub-flavoured Markdown. A summary is a title and a list of blocks: :class:`Table` (a header,
rows of already formatted cells, which columns are numbers) and :class:`Text` (a paragraph or a
list of notes). Cells are text: the result decides how each number reads (see
:mod:`backtest.text`); the summary only lays them out, and escapes them for HTML and Markdown.

Examples
--------
>>> s = Summary("Event study", [
...     Text("46 events, 3 dropped."),
...     Table(["window", "CAAR", "t"], [["[0,0]", "-1.20%", "-2.31"]], numeric=(1, 2)),
... ])
>>> print(s.as_text())
Event study
===========
46 events, 3 dropped.
<BLANKLINE>
window    CAAR      t
------  ------  -----
[0,0]   -1.20%  -2.31
>>> print(s.as_markdown().splitlines()[-1])
| [0,0] | -1.20% | -2.31 |
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    """A table of formatted cells.

    Parameters
    ----------
    header:
        Column names.
    rows:
        Rows of cells (text; ``None`` shows as empty).
    title:
        Optional heading above the table.
    numeric:
        Indices of the columns that hold numbers (right-aligned).
    """

    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    title: str = ""
    numeric: Sequence[int] = ()

    def cells(self) -> list[list[str]]:
        """The rows as text, each padded or cut to the header's length."""
        n = len(self.header)
        out = []
        for row in self.rows:
            cells = ["" if c is None else str(c) for c in row][:n]
            out.append(cells + [""] * (n - len(cells)))
        return out


@dataclass(frozen=True)
class Text:
    """A paragraph (``lines`` joined) or, with ``bullets=True``, a list of notes."""

    lines: Sequence[str] | str
    title: str = ""
    bullets: bool = False

    def items(self) -> list[str]:
        """The lines of the block."""
        return [self.lines] if isinstance(self.lines, str) else [str(x) for x in self.lines]


Block = Table | Text


@dataclass(frozen=True)
class Summary:
    """A result's summary: a title and blocks, rendered as text, HTML or Markdown."""

    title: str
    blocks: Sequence[Block] = field(default_factory=tuple)

    # ------------------------------------------------------------------ text
    def as_text(self, width: int = 100) -> str:
        """Plain text: the title underlined, each block separated by a blank line.

        Table cells are never cut; the last column of a row wider than ``width`` wraps under
        itself.
        """
        parts = []
        for block in self.blocks:
            head = f"{block.title}\n{'-' * min(len(block.title), width)}\n" if block.title else ""
            if isinstance(block, Text):
                prefix = "- " if block.bullets else ""
                body = "\n".join(prefix + line for line in block.items())
            else:
                body = _text_table(block, width)
            parts.append(head + body)
        body = "\n\n".join(parts)
        if not self.title:
            return body
        title = f"{self.title}\n{'=' * min(len(self.title), width)}"
        return f"{title}\n{body}" if body else title

    def __str__(self) -> str:
        return self.as_text()

    # ------------------------------------------------------------------ html
    def as_html(self) -> str:
        """HTML: a heading, paragraphs and ``<table>`` elements, every cell escaped."""
        e = html.escape
        out = [f"<h3>{e(self.title)}</h3>"] if self.title else []
        for block in self.blocks:
            if block.title:
                out.append(f"<h4>{e(block.title)}</h4>")
            if isinstance(block, Text):
                items = block.items()
                if block.bullets:
                    out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in items) + "</ul>")
                else:
                    out.append("<p>" + "<br>".join(e(x) for x in items) + "</p>")
                continue
            num = set(block.numeric)

            def cell(tag: str, i: int, v: str, num: set[int] = num) -> str:
                style = ' style="text-align:right"' if i in num else ' style="text-align:left"'
                return f"<{tag}{style}>{e(v)}</{tag}>"

            head = "".join(cell("th", i, str(h)) for i, h in enumerate(block.header))
            body = "".join(
                "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                for row in block.cells()
            )
            out.append(
                f'<table class="evbt-summary"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>"
            )
        return "\n".join(out)

    def _repr_html_(self) -> str:
        return self.as_html()

    # ------------------------------------------------------------------ markdown
    def as_markdown(self) -> str:
        """GitHub-flavoured Markdown; catalog text in cells cannot start a link or a tag."""
        out = [f"### {md_escape(self.title)}"] if self.title else []
        for block in self.blocks:
            if block.title:
                out.append(f"#### {md_escape(block.title)}")
            if isinstance(block, Text):
                items = [md_escape(x) for x in block.items()]
                # a paragraph's lines each a line of its own (a single newline is only a
                # space in Markdown): a hard line break, CommonMark's backslash at the end
                out.append(
                    "\n".join(f"- {x}" for x in items) if block.bullets else "\\\n".join(items)
                )
                continue
            num = set(block.numeric)
            header = "| " + " | ".join(md_escape(str(h)) for h in block.header) + " |"
            rule = "|" + "|".join("---:" if i in num else "---" for i in range(len(block.header)))
            rows = ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in block.cells()]
            out.append("\n".join([header, rule + "|", *rows]))
        return "\n\n".join(out)


_MD_ESCAPE = str.maketrans({c: "\\" + c for c in "\\`<>|"})


def md_escape(text: str) -> str:
    """``text`` safe inside Markdown: no link, image, HTML tag, code span or table cell break.

    Backslashes, backticks, ``<``, ``>`` and ``|`` are escaped, and so are the ``](`` that
    closes a link's text and the ``![`` that opens an image; line breaks become spaces. Plain
    brackets (``CAR[-1,+1]``) stay as they are.

    >>> md_escape("[click](javascript:alert(1)) <b>")
    '[click]\\\\(javascript:alert(1)) \\\\<b\\\\>'
    >>> md_escape("CAR[-1,+1] | ![x](http://e.com/a.png)")
    'CAR[-1,+1] \\\\| !\\\\[x]\\\\(http://e.com/a.png)'
    """
    flat = " ".join(str(text).split()).translate(_MD_ESCAPE)
    return flat.replace("](", "]\\(").replace("![", "!\\[")


def _text_table(table: Table, width: int) -> str:
    rows = table.cells()
    header = [str(h) for h in table.header]
    widths = [max([len(header[i]), *(len(r[i]) for r in rows)]) for i in range(len(header))]
    num = set(table.numeric)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            (c.rjust(w) if i in num else c.ljust(w))
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)
