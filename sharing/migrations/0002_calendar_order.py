"""A permission keeps its event's start and liveness, kept by the database (sharing/models.py).

Triggers, not code, keep `event_start` and `event_live` equal to the event's `start_time` and `deleted_at IS
NULL`: on every insert and update of a permission, and on every change of an event's start or deletion,
whatever makes it (services, CalDAV, imports, the admin, `QuerySet.update()`, raw SQL). Existing rows are
filled here.

On SQLite, Django rebuilds a table for some schema changes (copy, drop, rename), which drops the triggers
on it: a later migration that alters `sharing_eventpermission` or `events_event` there must create them
again. tests/sharing/test_calendar_order.py fails if any is missing.
"""

from django.conf import settings
from django.db import migrations, models

# The row `NEW` names, given its event's values.
_SQLITE_FILL_NEW = """
        UPDATE sharing_eventpermission
           SET event_start = (SELECT start_time FROM events_event WHERE id = NEW.event_id),
               event_live = (SELECT deleted_at IS NULL FROM events_event WHERE id = NEW.event_id)
         WHERE id = NEW.id;
"""
SQLITE = [
    f"""
    CREATE TRIGGER permission_calendar_insert AFTER INSERT ON sharing_eventpermission
    BEGIN {_SQLITE_FILL_NEW}
    END
    """,
    # An update that wrote other values (an instance loaded before its event moved, saved whole) is undone.
    f"""
    CREATE TRIGGER permission_calendar_update AFTER UPDATE ON sharing_eventpermission
    WHEN NEW.event_start IS NOT (SELECT start_time FROM events_event WHERE id = NEW.event_id)
      OR NEW.event_live IS NOT (SELECT deleted_at IS NULL FROM events_event WHERE id = NEW.event_id)
    BEGIN {_SQLITE_FILL_NEW}
    END
    """,
    """
    CREATE TRIGGER event_calendar_follow AFTER UPDATE OF start_time, deleted_at ON events_event
    WHEN NEW.start_time IS NOT OLD.start_time OR (NEW.deleted_at IS NULL) IS NOT (OLD.deleted_at IS NULL)
    BEGIN
        UPDATE sharing_eventpermission
           SET event_start = NEW.start_time, event_live = NEW.deleted_at IS NULL
         WHERE event_id = NEW.id;
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS permission_calendar_insert",
    "DROP TRIGGER IF EXISTS permission_calendar_update",
    "DROP TRIGGER IF EXISTS event_calendar_follow",
]

# A new permission reads its event FOR SHARE: a concurrent, uncommitted change of the event's start is waited
# for (its own trigger cannot see the new row). An update reads it without a lock: after waiting for the row
# lock a writer of the event holds, the statement's fresh snapshot sees that writer's commit; a lock here could
# deadlock with such a writer. Every service locks the event row first anyway (sharing/services.py).
POSTGRESQL = [
    """
    CREATE FUNCTION sharing_permission_calendar_fill() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            SELECT e.start_time, e.deleted_at IS NULL INTO NEW.event_start, NEW.event_live
              FROM events_event e WHERE e.id = NEW.event_id FOR SHARE;
        ELSE
            SELECT e.start_time, e.deleted_at IS NULL INTO NEW.event_start, NEW.event_live
              FROM events_event e WHERE e.id = NEW.event_id;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER permission_calendar_fill BEFORE INSERT OR UPDATE ON sharing_eventpermission
    FOR EACH ROW EXECUTE FUNCTION sharing_permission_calendar_fill()
    """,
    """
    CREATE FUNCTION sharing_event_calendar_follow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE sharing_eventpermission
           SET event_start = NEW.start_time, event_live = NEW.deleted_at IS NULL
         WHERE event_id = NEW.id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER event_calendar_follow AFTER UPDATE OF start_time, deleted_at ON events_event
    FOR EACH ROW
    WHEN (NEW.start_time IS DISTINCT FROM OLD.start_time OR (NEW.deleted_at IS NULL) <> (OLD.deleted_at IS NULL))
    EXECUTE FUNCTION sharing_event_calendar_follow()
    """,
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS event_calendar_follow ON events_event",
    "DROP FUNCTION IF EXISTS sharing_event_calendar_follow()",
    "DROP TRIGGER IF EXISTS permission_calendar_fill ON sharing_eventpermission",
    "DROP FUNCTION IF EXISTS sharing_permission_calendar_fill()",
]
FILL = """
    UPDATE sharing_eventpermission
       SET event_start = (SELECT start_time FROM events_event WHERE id = sharing_eventpermission.event_id),
           event_live = (SELECT deleted_at IS NULL FROM events_event WHERE id = sharing_eventpermission.event_id)
"""


def _run(schema_editor, statements) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"the calendar order's triggers exist for SQLite and PostgreSQL, not {vendor}")
    _run(schema_editor, [FILL, *(SQLITE if vendor == "sqlite" else POSTGRESQL)])


def uninstall(apps, schema_editor) -> None:
    _run(schema_editor, SQLITE_DROP if schema_editor.connection.vendor == "sqlite" else POSTGRESQL_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_purged_events_own_uids"),
        ("sharing", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="eventpermission",
            name="event_live",
            field=models.BooleanField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="eventpermission",
            name="event_start",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(install, uninstall, elidable=False),
        migrations.AddIndex(
            model_name="eventpermission",
            index=models.Index(
                fields=["user", "event_start", "event"], name="permission_calendar_idx", condition=models.Q(event_live=True)
            ),
        ),
    ]
