"""The recurrence engine, pure Python (no Django, no database): RFC 5545 rules parsed and expanded
(`rules`), wall-clock time in IANA zones (`timezones`), and a series' changed or cancelled occurrences
(`overrides`)."""
