"""Report -> Markdown sections (Jinja2) and PNG figures (matplotlib)."""
