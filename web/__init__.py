"""The Flask application: public site, back-office, JSON API and the `offre` CLI."""
