# Read by `flask ...` in this checkout (python-dotenv). Private settings go in .env.
FLASK_APP=service.localdev:create_app
