"""Use cases shared by the API and the CLI: create and control jobs, manage keys."""
