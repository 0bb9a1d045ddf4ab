"""Resource lifecycle events: notifications in, ResourceEvents applied, dead letters kept."""
