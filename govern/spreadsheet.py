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


def csv_text(fieldnames, rows) -> str:
    """The rows (dicts) as CSV text, header first, every cell made safe."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fieldnames)
    writer.writeheader()
    for row in rows:
        writer.writerow({name: safe_cell(value) for name, value in row.items()})
    return out.getvalue()
