"""Scheduling: the write-time conflict check (`conflicts`), the search for free slots (`free_slots`),
interval maths (`intervals`), and the calendar reads built on them (`views`: conflicting pairs, free/busy)."""
