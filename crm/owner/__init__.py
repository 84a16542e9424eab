"""The owner dashboard: an owner's listings, enquiries and membership."""
