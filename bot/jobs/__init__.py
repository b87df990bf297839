"""Periodic work: the one job list of a process (`Jobs`, one APScheduler) and what goes on it (`plan`)."""

from bot.jobs.board import JobInfo, Jobs, describe

__all__ = ["JobInfo", "Jobs", "describe"]
