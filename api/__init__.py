"""The REST API: thin views over the same services and rules as the console (docs: the OpenAPI schema)."""
