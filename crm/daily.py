"""The daily job: membership states, renewal reminders, segments and sync replay."""


def run_daily() -> list[str]:
    from . import sync

    applied, failed = sync.replay_pending()
    return [f"Sync events: {applied} applied, {failed} still failing."]
