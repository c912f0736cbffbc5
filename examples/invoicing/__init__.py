"""An invoicing app that plugs backoffice into its own FastAPI application."""
