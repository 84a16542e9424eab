"""The admin CRM at /admin/crm: the blueprint lives in views; the other modules add their pages to it."""

from . import enquiry, records, workspace  # noqa: F401  register their routes on the admin blueprint
