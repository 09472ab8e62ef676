"""On PostgreSQL the database itself refuses to change or delete audit entries.

The only update let through is the one Django makes when an actor's account is deleted (actor set to
null, every other column as it was). TRUNCATE, which test databases use to empty tables, fires no
row trigger. Other backends rely on the model's own guard (AuditEntry.save/delete, its QuerySet).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION history_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER history_audit_append_only BEFORE UPDATE OR DELETE ON history_auditentry
    FOR EACH ROW EXECUTE FUNCTION history_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS history_audit_append_only ON history_auditentry;
DROP FUNCTION IF EXISTS history_audit_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("history", "0001_audit_entry")]

    operations = [migrations.RunPython(create, drop)]
