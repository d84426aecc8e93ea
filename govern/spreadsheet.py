"""CSV for people who open it in a spreadsheet: no cell runs as a formula.

A cell that starts with =, +, -, @, a tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets
(CSV injection, OWASP): a deployment named `=HYPERLINK(...)` would reach every downloader of the public CSV. Such
a cell gets a leading apostrophe, which the spreadsheet shows as text. Every CSV export goes through `csv_text`.
"""

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value as a spreadsheet must see it: text that cannot start a formula; numbers and None as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(fieldnames, rows):
    """The rows (dicts) as CSV text a line at a time, header first, every cell made safe: for a streamed export."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fieldnames)
    writer.writeheader()
    yield out.getvalue()
    for row in rows:
        out.seek(0)
        out.truncate()
        writer.writerow({name: safe_cell(value) for name, value in row.items()})
        yield out.getvalue()


def csv_text(fieldnames, rows) -> str:
    """The rows (dicts) as CSV text, header first, every cell made safe."""
    return "".join(csv_lines(fieldnames, rows))
