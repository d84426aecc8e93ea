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
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import models
from django.http import HttpResponse
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.formats import localize
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django_tables2.columns import ManyToManyColumn
from django_tables2.rows import BoundRows
from django_tables2.utils import A, signature

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
        """The page's rows, each with its cells beside their column's `<td>` attributes. What django-tables2 works
        out afresh for every cell is worked out once a column here (`CellPath`): the `<td>` attributes (unless one is
        computed from the row), the render method's signature, the accessor, whether the field has choices; each cell
        is then what django-tables2's `BoundRow.get_cell` gives (tests/test_list_tables.py holds the two equal)."""
        paths = [CellPath(column) for column in self.columns]
        found = []
        for row in self.paginated_rows:
            cells = []
            for path in paths:
                cell = path.cell(row)
                if path.td is None:
                    path.bound_column.current_value, path.bound_column.current_record = cell, row.record
                    cells.append((path.bound_column.attrs["td"].as_html(), cell))
                else:
                    cells.append((path.td, cell))
            found.append((row, cells))
        return found

    def page_body(self) -> SafeString:
        """The page's rows as the table template's loop wrote them (`<tr>` with the row's attributes, a `<td>` with
        the column's attributes a cell, each cell as `{{ cell }}` shows it), in one pass: the template's loop over
        every cell was most of what is left of a list page's time."""
        return mark_safe(  # noqa: S308  (every piece escaped here or safe from django-tables2's own attributes)
            "".join(
                f"\n      <tr {row.attrs.as_html()}>\n        "
                + "".join(f"<td {td}>{shown(cell)}</td>" for td, cell in cells)
                + "\n      </tr>\n    "
                for row, cells in self.page_cells()
            )
        )

    def get_column_class_names(self, classes_set, bound_column):
        """Every cell a GOV.UK table cell, beside the column's own classes (the header's class is the template's)."""
        return {*super().get_column_class_names(classes_set, bound_column), "govuk-table__cell"}


def shown(value) -> str:
    """A value as `{{ value }}` shows it in a template (`render_value_in_context`: in the current time zone,
    localized, escaped), without the template's lookups for the plain text and whole numbers most cells are."""
    kind = type(value)
    if kind is str or kind is SafeString:
        return conditional_escape(value)
    if kind is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)
    return conditional_escape(localize(timezone.template_localtime(value)))


class CellPath:
    """How one column's cells are made, worked out once a page: django-tables2's `BoundRow._get_and_render_with` and
    `_call_render` (django-tables2 3.0) without their per-cell work (`inspect.signature` of the render method, the
    accessor parsed, the model field looked up, the `<td>` attributes merged). An accessor through a relation, a
    column whose content is a link, or a many-to-many column takes django-tables2's own path."""

    def __init__(self, bound_column):
        self.bound_column, self.column, self.name = bound_column, bound_column.column, bound_column.name
        self.accessor = A(bound_column.accessor)
        self.simple = not (
            self.accessor.SEPARATOR in self.accessor or bound_column.link or isinstance(self.column, ManyToManyColumn)
        )
        self.render = bound_column.render
        self.arguments, self.catch_all = signature(self.render)
        self.default, self.empty_values = bound_column.default, self.column.empty_values
        td = self.column.attrs.get("td", {})
        self.td = None if any(callable(value) for value in td.values()) else bound_column.attrs["td"].as_html()
        self.display: dict[type, bool] = {}  # by record class: whether the field has choices to display

    def has_choices(self, record) -> bool:
        kind = type(record)
        if kind not in self.display:
            try:
                field = self.accessor.get_field(record)
            except FieldDoesNotExist:
                field = None
            display = getattr(record, f"get_{self.accessor}_display", None)
            self.display[kind] = bool(getattr(field, "choices", ()) and display)
        return self.display[kind]

    def cell(self, row):
        """The cell of this column in `row`, rendered."""
        if not self.simple:
            return row.get_cell(self.name)
        record = row.record
        if isinstance(record, models.Model) and self.has_choices(record):
            value = getattr(record, f"get_{self.accessor}_display")()
        else:
            try:
                value = self.accessor.resolve(record)
            except Exception:  # as django-tables2: a column with no field behind it shows its default
                value = None
        if value in self.empty_values:
            return self.default
        offered = {
            "value": value,
            "record": record,
            "column": self.column,
            "bound_column": self.bound_column,
            "bound_row": row,
            "table": row.table,
        }
        if self.catch_all:
            return self.render(**offered)
        if any(argument not in offered for argument in self.arguments):
            return None
        return self.render(**{argument: offered[argument] for argument in self.arguments})


class _FormattedOnce:
    """A date column rendered as django-tables2's `{{ value|date:"format"|default:default }}` template renders it
    (in the current time zone, escaped), by calling the filter: django-tables2 compiles that template anew for
    every cell."""

    def __init__(self, format=None, short=True, *args, **kwargs):
        super().__init__(format, short, *args, **kwargs)
        self.date_format = format or self.named_format[short]

    def render(self, value, bound_column):
        shown = date_filter(timezone.template_localtime(value), self.date_format)
        return conditional_escape(localize(shown or bound_column.default))


class DateTimeColumn(_FormattedOnce, tables.DateTimeColumn):
    """django-tables2's date-time column (the same cells and export), its cells formatted without a template."""

    named_format = {True: "SHORT_DATETIME_FORMAT", False: "DATETIME_FORMAT"}


class DateColumn(_FormattedOnce, tables.DateColumn):
    """django-tables2's date column (the same cells and export), its cells formatted without a template."""

    named_format = {True: "SHORT_DATE_FORMAT", False: "DATE_FORMAT"}


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
