"""Guest enquiries: capture from the form and the API, and the status service."""
