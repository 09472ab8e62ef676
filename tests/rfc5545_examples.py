"""The examples of RFC 5545 §3.8.5.3 (all with DTSTART;TZID=America/New_York), shared by the recurrence
engine's unit tests, the API's and the iCalendar export's independent checks."""

from __future__ import annotations


def days(year: int, month: int, *day_numbers: int | range, time: str = "09:00") -> list[str]:
    """Local starts at `time` on the given days of a month (ranges allowed)."""
    out = []
    for item in day_numbers:
        for day in item if isinstance(item, range) else (item,):
            out.append(f"{year:04d}-{month:02d}-{day:02d} {time}")
    return out


def times(day: str, *hhmm: str) -> list[str]:
    """Local starts on one day at the given times."""
    return [f"{day} {t}" for t in hhmm]


# (name, DTSTART, equivalent rules, expected local starts, whether the set is finite)
RFC_EXAMPLES = [
    ("daily for 10", "1997-09-02 09:00", ["FREQ=DAILY;COUNT=10"], days(1997, 9, range(2, 12)), True),
    (
        "daily until Dec 24 1997",
        "1997-09-02 09:00",
        ["FREQ=DAILY;UNTIL=19971224T000000Z"],
        days(1997, 9, range(2, 31))
        + days(1997, 10, range(1, 32))
        + days(1997, 11, range(1, 31))
        + days(1997, 12, range(1, 24)),
        True,
    ),
    (
        "every other day forever",
        "1997-09-02 09:00",
        ["FREQ=DAILY;INTERVAL=2"],
        days(1997, 9, range(2, 31, 2))
        + days(1997, 10, range(2, 31, 2))
        + days(1997, 11, range(1, 30, 2))
        + days(1997, 12, 1, 3),
        False,
    ),
    (
        "every 10 days, 5 occurrences",
        "1997-09-02 09:00",
        ["FREQ=DAILY;INTERVAL=10;COUNT=5"],
        days(1997, 9, 2, 12, 22) + days(1997, 10, 2, 12),
        True,
    ),
    (
        "every day in January for 3 years",
        "1998-01-01 09:00",
        [
            "FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA",
            "FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1",
        ],
        days(1998, 1, range(1, 32)) + days(1999, 1, range(1, 32)) + days(2000, 1, range(1, 32)),
        True,
    ),
    (
        "weekly for 10",
        "1997-09-02 09:00",
        ["FREQ=WEEKLY;COUNT=10"],
        days(1997, 9, 2, 9, 16, 23, 30) + days(1997, 10, 7, 14, 21, 28) + days(1997, 11, 4),
        True,
    ),
    (
        "weekly until Dec 24 1997",
        "1997-09-02 09:00",
        ["FREQ=WEEKLY;UNTIL=19971224T000000Z"],
        days(1997, 9, 2, 9, 16, 23, 30)
        + days(1997, 10, 7, 14, 21, 28)
        + days(1997, 11, 4, 11, 18, 25)
        + days(1997, 12, 2, 9, 16, 23),
        True,
    ),
    (
        "every other week forever",
        "1997-09-02 09:00",
        ["FREQ=WEEKLY;INTERVAL=2;WKST=SU"],
        days(1997, 9, 2, 16, 30)
        + days(1997, 10, 14, 28)
        + days(1997, 11, 11, 25)
        + days(1997, 12, 9, 23)
        + days(1998, 1, 6, 20)
        + days(1998, 2, 3, 17),
        False,
    ),
    (
        "weekly on Tuesday and Thursday for five weeks",
        "1997-09-02 09:00",
        [
            "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH",
            "FREQ=WEEKLY;COUNT=10;WKST=SU;BYDAY=TU,TH",
        ],
        days(1997, 9, 2, 4, 9, 11, 16, 18, 23, 25, 30) + days(1997, 10, 2),
        True,
    ),
    (
        "every other week on MO, WE, FR until Dec 24 1997",
        "1997-09-01 09:00",
        ["FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR"],
        days(1997, 9, 1, 3, 5, 15, 17, 19, 29)
        + days(1997, 10, 1, 3, 13, 15, 17, 27, 29, 31)
        + days(1997, 11, 10, 12, 14, 24, 26, 28)
        + days(1997, 12, 8, 10, 12, 22),
        True,
    ),
    (
        "every other week on TU and TH, 8 occurrences",
        "1997-09-02 09:00",
        ["FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH"],
        days(1997, 9, 2, 4, 16, 18, 30) + days(1997, 10, 2, 14, 16),
        True,
    ),
    (
        "monthly on the first Friday for 10",
        "1997-09-05 09:00",
        ["FREQ=MONTHLY;COUNT=10;BYDAY=1FR"],
        days(1997, 9, 5)
        + days(1997, 10, 3)
        + days(1997, 11, 7)
        + days(1997, 12, 5)
        + days(1998, 1, 2)
        + days(1998, 2, 6)
        + days(1998, 3, 6)
        + days(1998, 4, 3)
        + days(1998, 5, 1)
        + days(1998, 6, 5),
        True,
    ),
    (
        "monthly on the first Friday until Dec 24 1997",
        "1997-09-05 09:00",
        ["FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR"],
        days(1997, 9, 5) + days(1997, 10, 3) + days(1997, 11, 7) + days(1997, 12, 5),
        True,
    ),
    (
        "every other month on the first and last Sunday, 10",
        "1997-09-07 09:00",
        ["FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU"],
        days(1997, 9, 7, 28)
        + days(1997, 11, 2, 30)
        + days(1998, 1, 4, 25)
        + days(1998, 3, 1, 29)
        + days(1998, 5, 3, 31),
        True,
    ),
    (
        "monthly on the second-to-last Monday for 6 months",
        "1997-09-22 09:00",
        ["FREQ=MONTHLY;COUNT=6;BYDAY=-2MO"],
        days(1997, 9, 22)
        + days(1997, 10, 20)
        + days(1997, 11, 17)
        + days(1997, 12, 22)
        + days(1998, 1, 19)
        + days(1998, 2, 16),
        True,
    ),
    (
        "monthly on the third-to-the-last day forever",
        "1997-09-28 09:00",
        ["FREQ=MONTHLY;BYMONTHDAY=-3"],
        days(1997, 9, 28)
        + days(1997, 10, 29)
        + days(1997, 11, 28)
        + days(1997, 12, 29)
        + days(1998, 1, 29)
        + days(1998, 2, 26),
        False,
    ),
    (
        "monthly on the 2nd and 15th for 10",
        "1997-09-02 09:00",
        ["FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15"],
        days(1997, 9, 2, 15)
        + days(1997, 10, 2, 15)
        + days(1997, 11, 2, 15)
        + days(1997, 12, 2, 15)
        + days(1998, 1, 2, 15),
        True,
    ),
    (
        "monthly on the first and last day for 10",
        "1997-09-30 09:00",
        ["FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1"],
        days(1997, 9, 30)
        + days(1997, 10, 1, 31)
        + days(1997, 11, 1, 30)
        + days(1997, 12, 1, 31)
        + days(1998, 1, 1, 31)
        + days(1998, 2, 1),
        True,
    ),
    (
        "every 18 months on the 10th thru 15th for 10",
        "1997-09-10 09:00",
        ["FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15"],
        days(1997, 9, range(10, 16)) + days(1999, 3, range(10, 14)),
        True,
    ),
    (
        "every Tuesday, every other month",
        "1997-09-02 09:00",
        ["FREQ=MONTHLY;INTERVAL=2;BYDAY=TU"],
        days(1997, 9, 2, 9, 16, 23, 30)
        + days(1997, 11, 4, 11, 18, 25)
        + days(1998, 1, 6, 13, 20, 27)
        + days(1998, 3, 3, 10, 17, 24, 31),
        False,
    ),
    (
        "yearly in June and July for 10",
        "1997-06-10 09:00",
        ["FREQ=YEARLY;COUNT=10;BYMONTH=6,7"],
        [d for year in range(1997, 2002) for d in days(year, 6, 10) + days(year, 7, 10)],
        True,
    ),
    (
        "every other year on January, February and March for 10",
        "1997-03-10 09:00",
        ["FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3"],
        days(1997, 3, 10) + [d for y in (1999, 2001, 2003) for m in (1, 2, 3) for d in days(y, m, 10)],
        True,
    ),
    (
        "every third year on the 1st, 100th and 200th day for 10",
        "1997-01-01 09:00",
        ["FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200"],
        days(1997, 1, 1)
        + days(1997, 4, 10)
        + days(1997, 7, 19)
        + days(2000, 1, 1)
        + days(2000, 4, 9)
        + days(2000, 7, 18)
        + days(2003, 1, 1)
        + days(2003, 4, 10)
        + days(2003, 7, 19)
        + days(2006, 1, 1),
        True,
    ),
    (
        "every 20th Monday of the year forever",
        "1997-05-19 09:00",
        ["FREQ=YEARLY;BYDAY=20MO"],
        days(1997, 5, 19) + days(1998, 5, 18) + days(1999, 5, 17),
        False,
    ),
    (
        "Monday of week number 20 forever",
        "1997-05-12 09:00",
        ["FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO"],
        days(1997, 5, 12) + days(1998, 5, 11) + days(1999, 5, 17),
        False,
    ),
    (
        "every Thursday in March forever",
        "1997-03-13 09:00",
        ["FREQ=YEARLY;BYMONTH=3;BYDAY=TH"],
        days(1997, 3, 13, 20, 27) + days(1998, 3, 5, 12, 19, 26) + days(1999, 3, 4, 11, 18, 25),
        False,
    ),
    (
        "every Thursday, but only during June, July and August, forever",
        "1997-06-05 09:00",
        ["FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8"],
        days(1997, 6, 5, 12, 19, 26)
        + days(1997, 7, 3, 10, 17, 24, 31)
        + days(1997, 8, 7, 14, 21, 28)
        + days(1998, 6, 4, 11, 18, 25)
        + days(1998, 7, 2, 9, 16, 23, 30)
        + days(1998, 8, 6, 13, 20, 27)
        + days(1999, 6, 3, 10, 17, 24)
        + days(1999, 7, 1, 8, 15, 22, 29)
        + days(1999, 8, 5, 12, 19, 26),
        False,
    ),
    (
        "every Friday the 13th forever (DTSTART excluded by EXDATE)",
        "1997-09-02 09:00",
        [{"rrule": "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "exdates": ["19970902T090000"]}],
        days(1998, 2, 13) + days(1998, 3, 13) + days(1998, 11, 13) + days(1999, 8, 13) + days(2000, 10, 13),
        False,
    ),
    (
        "the first Saturday that follows the first Sunday of the month forever",
        "1997-09-13 09:00",
        ["FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13"],
        days(1997, 9, 13)
        + days(1997, 10, 11)
        + days(1997, 11, 8)
        + days(1997, 12, 13)
        + days(1998, 1, 10)
        + days(1998, 2, 7)
        + days(1998, 3, 7)
        + days(1998, 4, 11)
        + days(1998, 5, 9)
        + days(1998, 6, 13),
        False,
    ),
    (
        "every 4 years, the first Tuesday after a Monday in November (US Presidential Election day)",
        "1996-11-05 09:00",
        ["FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8"],
        days(1996, 11, 5) + days(2000, 11, 7) + days(2004, 11, 2),
        False,
    ),
    (
        "the third instance of TU, WE or TH for the next 3 months",
        "1997-09-04 09:00",
        ["FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3"],
        days(1997, 9, 4) + days(1997, 10, 7) + days(1997, 11, 6),
        True,
    ),
    (
        "the second-to-last weekday of the month",
        "1997-09-29 09:00",
        ["FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2"],
        days(1997, 9, 29)
        + days(1997, 10, 30)
        + days(1997, 11, 27)
        + days(1997, 12, 30)
        + days(1998, 1, 29)
        + days(1998, 2, 26)
        + days(1998, 3, 30),
        False,
    ),
    (
        "every 3 hours from 9 AM to 5 PM on a specific day (UNTIL as 5 PM EDT)",
        "1997-09-02 09:00",
        ["FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T210000Z"],
        times("1997-09-02", "09:00", "12:00", "15:00"),
        True,
    ),
    (
        "every 15 minutes for 6 occurrences",
        "1997-09-02 09:00",
        ["FREQ=MINUTELY;INTERVAL=15;COUNT=6"],
        times("1997-09-02", "09:00", "09:15", "09:30", "09:45", "10:00", "10:15"),
        True,
    ),
    (
        "every hour and a half for 4 occurrences",
        "1997-09-02 09:00",
        ["FREQ=MINUTELY;INTERVAL=90;COUNT=4"],
        times("1997-09-02", "09:00", "10:30", "12:00", "13:30"),
        True,
    ),
    (
        "every 20 minutes from 9:00 AM to 4:40 PM every day",
        "1997-09-02 09:00",
        [
            "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40",
            "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16",
        ],
        [f"1997-09-0{d} {h:02d}:{m:02d}" for d in (2, 3) for h in range(9, 17) for m in (0, 20, 40)],
        False,
    ),
    (
        "WKST=MO",
        "1997-08-05 09:00",
        ["FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO"],
        days(1997, 8, 5, 10, 19, 24),
        True,
    ),
    (
        "WKST=SU yields different days",
        "1997-08-05 09:00",
        ["FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU"],
        days(1997, 8, 5, 17, 19, 31),
        True,
    ),
    (
        "an invalid date (February 30) is ignored",
        "2007-01-15 09:00",
        ["FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5"],
        days(2007, 1, 15, 30) + days(2007, 2, 15) + days(2007, 3, 15, 30),
        True,
    ),
]
