"""The list pages' tables (django-tables2 over django-filter): sorted, paged and exported the same way on every list.

A list view builds its app's FilterSet over the rows the user may see (`Model.objects.restrict(user, "view")`), then
its app's `ListTable` over the FilterSet's rows, and hands the table to `show` (the page's rows) or `csv_response`
(every row). Sorting (`?sort=`) and the page (`?page=`) come from the query string: an unknown column is ignored,
a page past the end shows the last one, a page that is no number the first, so a hostile address gets a page, never
a 500. A filter that does not parse is the view's 400 (`filter_errors`). The page says how many rows there are in
all, so a list is never cut off silently; past COUNT_BOUND rows (and ten pages beyond the one shown) it says "more
than" that many, counted no further, so a page of a log of a million rows does not count them all
(`BoundedPaginator`). No page deeper than COUNT_CEILING rows is offered: a page number past it (however large) shows
the deepest page, so no address makes a list count every row.

Part of the kernel: it imports no app.
"""

import django_tables2 as tables
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import HttpResponse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.functional import cached_property
from django.utils.html import format_html
from django_tables2.rows import BoundRows

from govern import spreadsheet

PER_PAGE = 50
COUNT_BOUND = 10_000  # rows counted at most before a list says "more than", beyond the pages near the one shown
PAGES_AHEAD = 10
COUNT_CEILING = 100_000  # rows counted at most for any page: the deepest page offered (narrow the search to go on)
EXPORT = "export"  # ?export=csv downloads every row of the list as filtered and sorted


class ListTable(tables.Table):
    """A list page's table: GOV.UK table classes, `?sort=` and `?page=`, a tie-break on the key so a page never
    repeats or skips a row when the sorted column has equal values."""

    class Meta:
        template_name = "tables/table.html"
        attrs = {
            "class": "govuk-table",
            "thead": {"class": "govuk-table__head"},
            "tbody": {"class": "govuk-table__body"},
        }
        row_attrs = {"class": "govuk-table__row"}
        order_by_field = "sort"
        page_field = "page"
        empty_text = "Nothing matches."

    # A page's consultation reason may come in its address once (`?reason=`); its sort, page and export links leave it
    # out, so it is not carried on in addresses (the session remembers it for the page).
    kept_out_of_links = "reason"

    def page_cells(self) -> list[tuple]:
        """The page's rows, each with its cells beside their column's `<td>` attributes. A column's attributes are
        built once a page, not once a cell (django-tables2 builds them afresh for every cell: a tenth of a list's
        time), unless one of them is computed from the row."""
        columns = list(self.columns)
        fixed = {
            column.name: column.attrs["td"].as_html()
            for column in columns
            if not any(callable(value) for value in column.column.attrs.get("td", {}).values())
        }
        found = []
        for row in self.paginated_rows:
            cells = []
            for column in columns:
                cell = row.get_cell(column.name)
                if column.name not in fixed:
                    column.current_value, column.current_record = cell, row.record
                cells.append((fixed[column.name] if column.name in fixed else column.attrs["td"].as_html(), cell))
            found.append((row, cells))
        return found

    def get_column_class_names(self, classes_set, bound_column):
        """Every cell a GOV.UK table cell, beside the column's own classes (the header's class is the template's)."""
        return {*super().get_column_class_names(classes_set, bound_column), "govuk-table__cell"}


class StateColumn(tables.Column):
    """A state shown as its label in a badge whose class names the raw state (`state state-live`); the label in a
    CSV (django-tables2 gives a choices field's display value)."""

    def render(self, value, record, bound_column):
        raw = tables.A(bound_column.accessor).resolve(record)
        return format_html('<span class="state state-{}">{}</span>', raw, value)

    def value(self, value):
        return value


def _with_tie_break(table: ListTable) -> None:
    """Order a queryset's rows by the primary key after the sorted columns (PostgreSQL's order of equal rows is not
    stable between two page reads)."""
    queryset = getattr(table.data, "data", None)
    if queryset is None or not hasattr(queryset, "query"):
        return
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering or [])
    if not any(field.lstrip("-") in ("pk", "id", queryset.model._meta.pk.name) for field in map(str, ordering)):
        table.data.data = queryset.order_by(*ordering, "-pk")


def sort(request, table: ListTable) -> ListTable:
    """Sort by the query string's `sort` (unknown or unsortable columns are ignored), then by the key."""
    table.request = request
    asked = [value for value in request.GET.getlist(table.prefixed_order_by_field) if value.isprintable()]
    if asked:
        table.order_by = asked
    _with_tie_break(table)
    return table


class BoundedPaginator(Paginator):
    """Django's paginator, counting a queryset's rows only up to `bound`: when there are more, `more` is true and the
    count is one past the bound, so the page after the bound's last is still offered and the page says "more than".
    At `ceiling` no further page is offered: the count stops at the ceiling's last page."""

    def __init__(self, object_list, per_page, bound: int = COUNT_BOUND, ceiling: int = COUNT_CEILING, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.bound, self.ceiling = min(bound, ceiling), ceiling

    @cached_property
    def counted(self) -> int:
        """The rows counted, up to one past the bound."""
        rows = getattr(getattr(self.object_list, "data", None), "data", None)  # a table's rows: its queryset
        if not hasattr(rows, "query"):
            return Paginator.count.func(self)  # Django's own count, not cached under our `count`
        # COUNT(*) over a LIMIT, unordered: the scan stops at the bound, and the plan need not follow the order
        return rows.order_by()[: self.bound + 1].count()

    @cached_property
    def count(self) -> int:
        return self.bound if self.more and self.bound >= self.ceiling else self.counted

    @property
    def more(self) -> bool:
        """Whether rows beyond the bound were left uncounted."""
        return self.counted > self.bound


def _page_asked(value) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 10 else 1


def show(request, table: ListTable, per_page: int = PER_PAGE) -> list:
    """Sort and page the table from the query string; the records of the page, fixed so the page shows (and a
    selector logs) exactly these rows."""
    sort(request, table)
    asked = request.GET.get(table.prefixed_page_field) or 1
    deepest = COUNT_CEILING // per_page
    if isinstance(asked, str) and asked.isdigit() and (len(asked) >= 10 or int(asked) > deepest):
        asked = str(deepest)  # a page past the ceiling: the deepest offered, not a count of every row to find the end
    bound = max(COUNT_BOUND, (_page_asked(asked) + PAGES_AHEAD) * per_page)
    try:
        paginated = {"page": asked, "per_page": per_page, "bound": bound, "ceiling": COUNT_CEILING}
        table.paginate(paginator_class=BoundedPaginator, **paginated)
    except PageNotAnInteger:
        table.page = table.paginator.page(1)
    except EmptyPage:
        table.page = table.paginator.page(table.paginator.num_pages)
    records = [row.record for row in table.page.object_list]
    table.page.object_list = BoundRows(records, table=table)
    return records


def every_record(request, table: ListTable) -> list:
    """Every record of the table as filtered and sorted: what a CSV export holds."""
    sort(request, table)
    return [row.record for row in table.rows]


def wants_csv(request) -> bool:
    """Whether the list is asked for as CSV (`?export=csv`)."""
    return request.GET.get(EXPORT) == "csv"


def csv_response(table: ListTable, name: str, records: list | None = None) -> HttpResponse:
    """The table's rows (or `records`, already read) as a CSV download, every cell safe in a spreadsheet. Columns
    export their `value_*` (plain text, no HTML); those marked `exclude_from_export` stay out."""
    columns = [column for column in table.columns.iterall() if not column.column.exclude_from_export]
    header = [force_str(column.header) for column in columns]
    rows = table.rows if records is None else BoundRows(records, table=table)
    body = (
        dict(zip(header, (force_str(row.get_cell_value(column.name)) for column in columns), strict=True))
        for row in rows
    )
    response = HttpResponse(spreadsheet.csv_text(header, body), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="govern-{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def filter_errors(filterset) -> str:
    """A FilterSet's errors in one line, for a 400 page."""
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())


class Listing:
    """A list page's FilterSet and table, as every list builds them: the filtered rows when the filters parse, none
    (and a 400) when they do not. `export(name)` is the CSV of every row when one is asked for, else None; `page()`
    pages the table and gives the template's context."""

    def __init__(self, request, filterset, table_class: type[ListTable]):
        self.request, self.filterset = request, filterset
        self.valid = filterset.is_valid()
        self.table = table_class(filterset.qs if self.valid else filterset.queryset.none())
        self.status = 200 if self.valid else 400

    def export(self, name: str) -> HttpResponse | None:
        if not (self.valid and wants_csv(self.request)):
            return None
        return csv_response(self.table, name, every_record(self.request, self.table))

    def page(self, **context) -> dict:
        show(self.request, self.table)
        error = "" if self.valid else filter_errors(self.filterset)
        return {"table": self.table, "filterset": self.filterset, "filter_error": error, **context}
