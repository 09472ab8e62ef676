"""The hot reads' SQL, compiled by the ORM once per process and run again with each request's values.

Building a queryset and compiling it (joins, lookups, the SELECT list) costs 0.3–1 ms of Python per
query, many times what SQLite or PostgreSQL take to run the small indexed reads every request makes
(the token's user, an event, its permissions, a page of the calendar): docs/PERFORMANCE.md,
"Per-request cost". A `PreparedQuery` is given a function that builds the queryset from its
parameters — the query is described once, with the ORM, where the other reads are — and compiles it
the first time it runs on a database, with placeholder values standing for the parameters. It keeps
the SQL, which of its parameters are the placeholders, and what the ORM needs to make rows into
instances (the columns, the database's converters, the `select_related` populators, the annotations);
each call runs that SQL with the call's values and makes the same instances the ORM would (tested
field for field). The queries go through the connection's cursor, so they are counted and logged like
any other.

Only for querysets whose SQL does not depend on the values (an `exact` lookup on an id or a string,
not `in` a list or `isnull` on a value): a parameter the compiled SQL does not carry is an error
when the query is compiled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.base import DEFERRED
from django.db.models.query import get_related_populators

# Placeholders stand out from any value a request can give (ids are positive, strings printable), yet stay
# in the range of a 32-bit integer column: the ORM compiles an impossible value into a different query.
_INT_PLACEHOLDER = -2_147_000_000
_STR_PLACEHOLDER = "\x00prepared:"


def _placeholder(kind: type, index: int) -> Any:
    if kind is int:
        return _INT_PLACEHOLDER - index
    if kind is str:
        return f"{_STR_PLACEHOLDER}{index}"
    raise TypeError(f"a prepared query's parameters are int or str, not {kind.__name__}")


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple  # per parameter of the SQL: the name of the call's value that goes there, else (a constant,)


@dataclass(frozen=True, eq=False)  # each is itself alone (rows' keys, `Read.key`)
class _Rows:
    statement: _Statement
    model: type
    attnames: list[str]  # every concrete field of the model, in the model's order
    values: Callable[[list], tuple]  # a row (DEFERRED appended) -> the value of each of them, DEFERRED if not read
    converters: list[tuple[int, list, Any]]  # (column, the database's and the field's functions, expression)
    populators: list  # select_related
    annotations: dict[str, int]


class PreparedQuery:
    """`build(**parameters)`'s queryset, compiled once per database; `fetch(**values)` and `count(**values)` run it."""

    def __init__(self, build: Callable[..., QuerySet], **parameters: type) -> None:
        self._build = build
        self._placeholders = {name: _placeholder(kind, index) for index, (name, kind) in enumerate(parameters.items())}
        self._model: type | None = None
        self._compiled: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def fetch(self, *, limit: int | None = None, offset: int = 0, **values) -> list:
        """The instances the queryset gives for `values`: rows `offset` to `offset + limit` when a limit is given."""
        read = self.fetch_rows(limit=limit, offset=offset, **values)
        return [read.instance(row) for row in read.rows]

    def fetch_rows(self, *, limit: int | None = None, offset: int = 0, **values) -> Read:
        """The rows `fetch` reads, as the database gives them, with what makes each into the instance `fetch` gives:
        for a caller that may not need the instance of every row (events/representation.py `shown_event`)."""
        alias, connection, compiled = self._prepared("rows", self._compile_rows)
        if limit == 0:
            return Read([], compiled, alias, connection)  # what the ORM does for an empty slice: no query
        sql = compiled.statement.sql
        if limit is not None or offset:
            sql = f"{sql} {connection.ops.limit_offset_sql(offset, None if limit is None else offset + limit)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, self._params(compiled.statement, values))
            rows = cursor.fetchall()
        return Read(rows, compiled, alias, connection)

    def count(self, **values) -> int:
        """How many rows the queryset has for `values`: COUNT(*) in the database, as `QuerySet.count()`."""
        _alias, connection, statement = self._prepared("count", self._compile_count)
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, self._params(statement, values))
            return cursor.fetchone()[0]

    def _prepared(self, kind: str, compile_: Callable[[str], Any]):
        if self._model is None:
            self._model = self._build(**self._placeholders).model
        alias = router.db_for_read(self._model)
        connection = connections[alias]
        key = (alias, connection.vendor, kind)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or compile_(alias)
                self._compiled[key] = compiled
        return alias, connection, compiled

    def _statement(self, sql: str, params) -> _Statement:
        names = {value: name for name, value in self._placeholders.items()}
        slots = tuple(names[value] if isinstance(value, int | str) and value in names else (value,) for value in params)
        missing = set(names.values()) - {slot for slot in slots if isinstance(slot, str)}
        if missing:
            raise ValueError(f"the compiled query does not take {sorted(missing)} as values")
        return _Statement(sql, slots)

    def _compile_rows(self, alias: str) -> _Rows:
        compiler = self._build(**self._placeholders).query.get_compiler(using=alias)
        statement = self._statement(*compiler.as_sql())  # fills select, klass_info and annotation_col_map
        select, klass_info = compiler.select, compiler.klass_info
        model, columns = klass_info["model"], klass_info["select_fields"]
        expressions = [column[0] for column in select[: compiler.col_count]]
        # Where each concrete field's value is in a row; a deferred field (`.only()`, `.defer()`) takes the
        # DEFERRED the row is given at its end (-1). Model.from_db makes the same of the ORM's (read fields,
        # their values), matching names for every row; done here once.
        read = {select[position][0].target.attname: position for position in columns}
        attnames = [field.attname for field in model._meta.concrete_fields]
        positions = [read.get(attname, -1) for attname in attnames]
        return _Rows(
            statement=statement,
            model=model,
            attnames=attnames,
            values=itemgetter(*positions) if len(positions) > 1 else lambda row: (row[positions[0]],),
            converters=[
                (position, functions, expression)
                for position, (functions, expression) in compiler.get_converters(expressions).items()
            ],
            populators=get_related_populators(klass_info, select, alias),
            annotations=dict(compiler.annotation_col_map or {}),
        )

    def _compile_count(self, alias: str) -> _Statement:
        queryset = self._build(**self._placeholders).order_by().values("pk")
        sql, params = queryset.query.get_compiler(using=alias).as_sql()
        return self._statement(f"SELECT COUNT(*) FROM ({sql}) counted", params)  # noqa: S608 (the ORM's SQL)

    def _params(self, statement: _Statement, values: dict) -> list:
        if values.keys() != self._placeholders.keys():
            raise TypeError(f"expected the values of {sorted(self._placeholders)}, got {sorted(values)}")
        return [values[slot] if isinstance(slot, str) else slot[0] for slot in statement.params]


class Read:
    """Rows a prepared query read, as the database gave them (`rows`), and how each is made into its instance."""

    __slots__ = ("_alias", "_compiled", "_connection", "rows")

    def __init__(self, rows: list[tuple], compiled: _Rows, alias: str, connection) -> None:
        self.rows = rows
        self._compiled = compiled
        self._alias = alias
        self._connection = connection

    def instance(self, row: tuple):
        """`row` made into the instance the ORM makes of it."""
        return _instance(self._compiled, self._alias, self._connection, row)

    def annotation(self, row: tuple, name: str):
        """The value of the annotation `name` in `row`, as its instance carries it."""
        position = self._compiled.annotations[name]
        value = row[position]
        for at, functions, expression in self._compiled.converters:
            if at == position:
                for function in functions:
                    value = function(value, expression, self._connection)
        return value

    def key(self, row: tuple, *, leaving_out: str | None = None) -> tuple:
        """What identifies `row` among every row any prepared query reads: the query as compiled for its database
        (its SQL, the constants it runs with, what each column is and how it is converted: one object per query and
        database for the life of the process, compared as such) and, last, the row's values without the annotation
        `leaving_out`'s. Two rows with the same key make instances equal field for field (but for that annotation).
        """
        if leaving_out is not None:
            position = self._compiled.annotations[leaving_out]
            row = row[:position] + row[position + 1 :]
        return (self._compiled, row)


def _instance(compiled: _Rows, alias: str, connection, row: tuple):
    """One row made into its instance exactly as the ORM's ModelIterable makes it."""
    row = list(row)
    for position, functions, expression in compiled.converters:
        value = row[position]
        for function in functions:
            value = function(value, expression, connection)
        row[position] = value
    row.append(DEFERRED)
    instance = compiled.model.from_db(alias, compiled.attnames, compiled.values(row))
    for populator in compiled.populators:
        populator.populate(row, instance)
    for name, position in compiled.annotations.items():
        setattr(instance, name, row[position])
    return instance
