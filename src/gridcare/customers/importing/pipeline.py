"""The all-or-nothing frame every import runs in: read → check every row → write in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import IntegrityError, connection, models, transaction

from gridcare.core import audit
from gridcare.core.bulk import copy_rows
from gridcare.core.models import AuditLog
from gridcare.org.types import Actor

from .reading import Column, FileUnreadable, Source, Table, read_table, source_name
from .results import ImportResult, RowError

# Rows per INSERT/UPDATE statement and values per ``IN (...)`` lookup (SQLite allows 32,766
# parameters per statement; a customer row has ~20 columns).
BATCH = 1000
LOOKUP_CHUNK = 900

P = TypeVar("P")
T = TypeVar("T")


def run_import(
    *,
    kind: str,
    label: str,
    object_type: str,
    source: Source,
    filename: str | None,
    columns: Sequence[Column],
    check: Callable[[Table, list[RowError]], P],
    write: Callable[[P, ImportResult], None],
    dry_run: bool,
    actor: Actor,
) -> ImportResult:
    result = ImportResult(kind=kind, filename=source_name(source, filename), dry_run=dry_run)
    try:
        table = read_table(source, columns, filename)
    except FileUnreadable as exc:
        result.errors.append(RowError(0, "", "", str(exc)))
        return result
    result.rows = len(table.rows)
    result.ignored_headers = table.ignored_headers
    if not table.rows:
        result.errors.append(RowError(0, "", "", "文件中没有数据行"))
        return result
    plan = check(table, result.errors)
    result.errors.sort(key=lambda e: e.row)  # format problems and reference problems, row by row
    if result.errors or dry_run:
        return result
    try:
        with transaction.atomic():
            write(plan, result)
            audit.record(
                action=AuditLog.Action.IMPORT,
                actor=actor,
                object_type=object_type,
                object_repr=f"{label} {result.filename}"[:200],
                detail={
                    "file": result.filename,
                    "rows": result.rows,
                    "created": result.created,
                    "updated": result.updated,
                },
            )
    except IntegrityError as exc:
        # Only possible if someone else wrote the same codes between the check and the write.
        result.created, result.updated = {}, {}
        result.errors.append(
            RowError(0, "", "", f"写入时与数据库中的数据冲突（可能有人同时导入），未写入任何数据：{exc}")
        )
        return result
    result.written = True
    return result


def chunks(values: Iterable[T], size: int = LOOKUP_CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def lookup(queryset: Any, field: str, values: Iterable[Any], *fields: str) -> list[tuple[Any, ...]]:
    """``values_list(field, *fields)`` of the rows whose ``field`` is one of ``values``, chunked."""
    found: list[tuple[Any, ...]] = []
    for batch in chunks(sorted(set(values))):
        found.extend(queryset.filter(**{f"{field}__in": batch}).values_list(field, *fields))
    return found


def insert(
    model: type[models.Model], rows: list[dict[str, Any]], *, returning_ids: bool = False
) -> list[int]:
    """Insert ``rows`` (column attname → value) and return the new ids if asked.

    On PostgreSQL the rows go in with ``COPY`` (ids drawn from the table's sequence beforehand):
    building a model instance per row is what makes ``bulk_create`` slow on 100,000-row files.
    Elsewhere ``bulk_create``. Columns a row leaves out get the field's default.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objs = model.objects.bulk_create([model(**row) for row in rows], batch_size=BATCH)
        if returning_ids and any(obj.pk is None for obj in objs):
            raise RuntimeError("this database cannot return ids from a bulk insert")
        return [obj.pk for obj in objs]
    meta = model._meta
    ids: list[int] = []
    if returning_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
    given = set(rows[0])
    fields = [f for f in meta.concrete_fields if not f.primary_key or returning_ids]
    defaults = {
        f.attname: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if f.attname not in given and not f.primary_key
    }
    names = [f.attname for f in fields]

    def values():
        for i, row in enumerate(rows):
            if returning_ids:
                row[meta.pk.attname] = ids[i]
            yield [row[name] if name in row else defaults[name] for name in names]

    copy_rows(meta.db_table, [f.column for f in fields], values())
    return ids


def update_rows(model: type[models.Model], rows: list[dict[str, Any]], fields: list[str]) -> None:
    """Set ``fields`` (names or attnames) of existing rows; each dict holds ``id`` and the attnames.

    On PostgreSQL the values go into a temporary table with ``COPY`` and one ``UPDATE … FROM``
    applies them: ``bulk_update``'s ``CASE WHEN`` per field grows with the batch and took over
    10 minutes for 20,000 customers. Elsewhere ``bulk_update``.
    """
    if not rows:
        return
    meta = model._meta
    if connection.vendor != "postgresql":
        model.objects.bulk_update([model(**row) for row in rows], fields, batch_size=BATCH // 4)
        return
    changed = [meta.get_field(name) for name in fields]
    columns = [meta.pk, *changed]
    quote = connection.ops.quote_name
    table, temp, pk = quote(meta.db_table), quote(f"import_{meta.db_table}"), quote(meta.pk.column)
    column_list = ", ".join(quote(f.column) for f in columns)
    assignments = ", ".join(f"{quote(f.column)} = s.{quote(f.column)}" for f in changed)
    # Identifiers come from the model's metadata, never from the file.
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} AS SELECT {column_list} FROM {table} WITH NO DATA")  # noqa: S608
        copy_rows(
            f"import_{meta.db_table}",
            [f.column for f in columns],
            ([row[f.attname] for f in columns] for row in rows),
        )
        cursor.execute(f"UPDATE {table} AS t SET {assignments} FROM {temp} AS s WHERE t.{pk} = s.{pk}")  # noqa: S608
        cursor.execute(f"DROP TABLE {temp}")


def staff_by_employee_no(numbers: Iterable[str]) -> dict[str, list[tuple[int, bool]]]:
    """工号 → [(user id, is_active)]; a 工号 may (wrongly) be shared, which the caller reports."""
    from gridcare.org.models import User

    staff: dict[str, list[tuple[int, bool]]] = {}
    for number, pk, active in lookup(User.objects.all(), "employee_no", numbers, "id", "is_active"):
        staff.setdefault(number, []).append((pk, active))
    return staff


def employee_problem(matches: list[tuple[int, bool]] | None) -> str:
    if not matches:
        return "找不到该工号的员工"
    if len(matches) > 1:
        return "该工号对应多名员工，请先在员工档案中更正"
    if not matches[0][1]:
        return "该员工账号已停用"
    return ""
