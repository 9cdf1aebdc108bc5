"""Singer target writing Breezeway streams into an FK-constrained PostgreSQL schema."""
