"""Volumes as a product: snapshot schedules and their retention, over the block-storage port."""
