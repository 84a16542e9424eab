"""Public pages: live properties and the guest enquiry form."""
