"""The JSON API: the public enquiry endpoint and the admin CRM API under /api/crm/."""
