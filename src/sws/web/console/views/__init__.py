"""The console's routers: sign-in and preferences, tenant pages, admin pages."""
