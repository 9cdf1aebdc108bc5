"""pytest fixtures for the Breezeway API simulator (filled in by the simulator work)."""
