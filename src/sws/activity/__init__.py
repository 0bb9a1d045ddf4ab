"""The activity feed: what happened to a tenant's resources and account, and its unread notices."""
