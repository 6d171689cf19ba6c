"""Local time <-> UTC in the evaluation's time zone: DateTime values are naive local times.

Power Fx adds times (durations) to date-times through UTC, so across a daylight saving change
the clock time shifts (`Date(2021,3,29) - Time(12,0,0) - Time(12,0,0)` in Beirut is 23:00 on the
27th); it adds days on the wall clock, and a local time the clocks skipped becomes a valid one
(`DateTime(2021,3,27,0,0,0) + 1` is 01:00 on the 28th there).  A local time skipped by a clock
change is read with the offset before it.
"""

from __future__ import annotations

import datetime as dt


def utc_offset(when: dt.datetime, zone: dt.tzinfo) -> dt.timedelta:
    """The zone's UTC offset at a local time (a time skipped by a clock change: the offset before)."""
    if zone is dt.UTC:
        return dt.timedelta(0)
    return when.replace(tzinfo=zone).utcoffset() or dt.timedelta(0)


def to_utc(when: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    return when - utc_offset(when, zone)


def from_utc(when: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    if zone is dt.UTC:
        return when
    return when.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)


def shift_local(when: dt.datetime, delta: dt.timedelta, zone: dt.tzinfo | None) -> dt.datetime:
    """A local date-time moved by `delta` of elapsed time (through UTC)."""
    if zone is None or zone is dt.UTC:
        return when + delta
    return from_utc(to_utc(when, zone) + delta, zone)


def valid_local(when: dt.datetime, zone: dt.tzinfo | None) -> dt.datetime:
    """`when`, or, when the clocks skipped it, the local time it reads as (00:30 in a one-hour
    spring-forward gap at midnight is 01:30)."""
    if zone is None or zone is dt.UTC:
        return when
    return from_utc(to_utc(when, zone), zone)
