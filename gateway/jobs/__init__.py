"""Background jobs with persisted state and live progress (model downloads, renewals).

``services.jobs`` is the app's :class:`JobRunner`; a domain registers a handler per job kind
(``runner.register("model_download", handler, concurrency=2)``) before the app starts it.
"""

from gateway.jobs.context import Handler, InvalidJobState, JobContext, JobFailed, JobNotFound
from gateway.jobs.records import JobError, JobRecord, JobState, channel
from gateway.jobs.runner import JobRunner

__all__ = [
    "Handler",
    "InvalidJobState",
    "JobContext",
    "JobError",
    "JobFailed",
    "JobNotFound",
    "JobRecord",
    "JobRunner",
    "JobState",
    "channel",
]
