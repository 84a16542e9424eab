"""The admin CRM at /admin/crm."""
