"""Singer tap for the Breezeway public REST API."""
