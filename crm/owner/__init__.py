"""The owner dashboard: an owner's listings, enquiries and membership."""

from . import queues  # noqa: F401  adds the needs-reply and follow-up pages to the owner blueprint
