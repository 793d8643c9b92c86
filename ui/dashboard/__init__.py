"""What the dashboard's pages share: the session (operations API, operator, navigation) and
the tables they show, built from the API's models."""
