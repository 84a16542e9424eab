"""Reports: what admins and owners learn from the CRM, as figures computed in SQL."""
