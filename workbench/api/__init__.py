"""REST API (FastAPI): app factory, one router per resource, uvicorn side thread."""
